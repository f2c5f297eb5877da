"""Two-factor sign-in pages, mounted on every host (cdp/urls/public.py and cdp/urls/tenant.py)."""

from django.urls import path

from tenants import twofactor_views

app_name = "twofactor"

urlpatterns = [
    path("", twofactor_views.enrol, name="enrol"),
    path("verify/", twofactor_views.verify, name="verify"),
]
