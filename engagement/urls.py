"""Engagement's pages on the tenant's host: the portal's (members) and those a message's reader
opens (no sign-in: the signed token in the link is the authorization)."""

from django.urls import path

from engagement import views

app_name = "engagement"

urlpatterns = [
    path("campaigns/", views.campaign_list_page, name="campaigns"),
    path("campaigns/<id:pk>/", views.campaign_results_page, name="campaign"),
    path("destinations/", views.destination_list_page, name="destinations"),
    path("opt-in/<str:token>/", views.opt_in_confirm_page, name="opt-in-confirm"),
    path("c/<str:token>/", views.click_redirect, name="click"),
]
