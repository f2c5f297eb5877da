"""Platform host: the staff revenue page (inside the operators' admin) and gateway callbacks."""

from django.contrib import admin
from django.urls import include, path

from billing.admin import revenue_view

urlpatterns = [
    path("admin/billing/revenue/", admin.site.admin_view(revenue_view), name="billing_revenue"),
    path("api/v1/billing/", include("billing.api.public_urls")),
]
