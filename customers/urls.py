from django.urls import path

from customers import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list_page, name="list"),
    path("access-log/", views.access_log_page, name="access_log"),
    path("<id:pk>/", views.customer_detail_page, name="detail"),
    path("<id:pk>/changes/", views.customer_changes_page, name="changes"),
]
