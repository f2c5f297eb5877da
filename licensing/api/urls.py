"""On a tenant's host, under ``api/v1/``."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from licensing.api import views

router = SimpleRouter(trailing_slash=True)
router.register("releases", views.ReleaseViewSet, basename="release")

urlpatterns = [
    path("license/", views.LicenseSummaryView.as_view(), name="license_summary"),
] + router.urls
