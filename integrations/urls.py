from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("", views.integration_list_page, name="list"),
    path("<id:pk>/", views.integration_detail_page, name="detail"),
    path("<id:pk>/sync/", views.integration_sync_view, name="sync"),
]
