"""On a tenant's host, under ``api/v1/billing/``."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from billing.api import views

router = SimpleRouter(trailing_slash=True)
router.register("products", views.ProductViewSet, basename="billing-product")
router.register("orders", views.OrderViewSet, basename="billing-order")
router.register("invoices", views.InvoiceViewSet, basename="billing-invoice")
router.register("payment-methods", views.PaymentMethodViewSet, basename="billing-payment-method")

urlpatterns = [path("checkout/", views.CheckoutView.as_view(), name="billing-checkout")] + router.urls
