"""On the platform's host, under ``api/v1/billing/``: gateway callbacks."""

from django.urls import path

from billing.api import views

urlpatterns = [path("callbacks/<slug:gateway>/", views.PaymentCallbackView.as_view(), name="billing-callback")]
