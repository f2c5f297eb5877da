"""On the platform's host (``localhost``): mounted at ``api/v1/licenses/``.

(``licensing.middleware`` answers the validate paths before tenant routing; these routes are the
same view for a deployment without it, and what the OpenAPI document shows.)"""

from django.urls import path

from licensing.api import views

urlpatterns = [
    path("validate", views.LicenseValidateView.as_view(), name="license_validate"),
    path("validate/", views.LicenseValidateView.as_view(schema=None), name="license_validate_slash"),
    path("public-key/", views.PublicKeyView.as_view(), name="license_public_key"),
]
