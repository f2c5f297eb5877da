from django.urls import path

from ai import views

app_name = "ai"

urlpatterns = [
    path("", views.assistant, name="assistant"),
]
