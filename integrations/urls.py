from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("", views.integration_list_page, name="list"),
    path("<id:pk>/", views.integration_detail_page, name="detail"),
    path("<id:pk>/sync/", views.integration_sync_view, name="sync"),
    path("<id:pk>/delete/", views.integration_delete_view, name="delete"),
    path("<id:pk>/restore/", views.integration_restore_view, name="restore"),
]
