"""Engagement's pages on the tenant's host that a message's reader opens (no sign-in: the signed
token in the link is the authorization)."""

from django.urls import path

from engagement import views

app_name = "engagement"

urlpatterns = [
    path("opt-in/<str:token>/", views.opt_in_confirm_page, name="opt-in-confirm"),
]
