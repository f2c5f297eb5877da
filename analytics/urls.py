from django.urls import path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("", views.dashboard_page, name="dashboard"),
    path("run/", views.run_start_page, name="run"),
    path("runs/<id:pk>/", views.run_detail_page, name="run_detail"),
    path("data-quality/", views.data_quality_page, name="data_quality"),
    path("segments/", views.segment_list_page, name="segments"),
    path("segments/<id:pk>/", views.segment_detail_page, name="segment_detail"),
    path("segments/<id:pk>/delete/", views.segment_delete_page, name="segment_delete"),
    path("segments/<id:pk>/restore/", views.segment_restore_page, name="segment_restore"),
    path("segments/<id:pk>/export.csv", views.segment_export_page, name="segment_export"),
]
