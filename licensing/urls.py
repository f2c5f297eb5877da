from django.urls import path

from licensing import views

app_name = "licensing"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("releases/<id:pk>/download/", views.release_download_view, name="release_download"),
]
