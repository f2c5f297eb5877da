from django.urls import path

from customers import views
from customers.unsubscribe import unsubscribe_page

app_name = "customers"

urlpatterns = [
    path("", views.customer_list_page, name="list"),
    path("new/", views.lead_create_page, name="lead_create"),
    path("access-log/", views.access_log_page, name="access_log"),
    path("export.csv", views.customer_export_view, name="export"),
    path("views/", views.customer_view_save_view, name="view_save"),
    path("views/<id:pk>/delete/", views.customer_view_delete_view, name="view_delete"),
    path("<id:pk>/", views.customer_detail_page, name="detail"),
    path("<id:pk>/attributes/", views.customer_attributes_page, name="attributes"),
    path("<id:pk>/changes/", views.customer_changes_page, name="changes"),
    path("<id:pk>/edit/", views.customer_edit_page, name="edit"),
    path("unsubscribe/<str:token>/", unsubscribe_page, name="unsubscribe"),
]
