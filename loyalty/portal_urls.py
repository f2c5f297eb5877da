"""The loyalty program's portal pages for staff, mounted at ``loyalty/`` on tenant hosts."""

from django.urls import path

from loyalty import views

app_name = "loyalty"

urlpatterns = [
    path("program/", views.program_page, name="program"),
]
