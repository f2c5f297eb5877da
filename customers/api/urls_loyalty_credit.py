"""Routes of the loyalty and credit API (included in ``api_v1`` of cdp/urls/tenant.py)."""

from django.urls import path

from customers.api.credit import (
    CreditAccountViewSet,
    CreditPaymentViewSet,
    CreditUsageViewSet,
    CustomerCreditViewSet,
)
from customers.api.loyalty import CustomerLoyaltyViewSet, LoyaltyProgramViewSet, LoyaltyTierViewSet

urlpatterns = [
    # loyalty
    path("customers/<id:customer_id>/loyalty/", CustomerLoyaltyViewSet.as_view({"get": "account"}),
         name="customer-loyalty"),
    path("customers/<id:customer_id>/loyalty/redeem/", CustomerLoyaltyViewSet.as_view({"post": "redeem"}),
         name="customer-loyalty-redeem"),
    path("customers/<id:customer_id>/loyalty/adjust/", CustomerLoyaltyViewSet.as_view({"post": "adjust"}),
         name="customer-loyalty-adjust"),
    path("customers/<id:customer_id>/loyalty/bonus/", CustomerLoyaltyViewSet.as_view({"post": "bonus"}),
         name="customer-loyalty-bonus"),
    path("loyalty/tiers/", LoyaltyTierViewSet.as_view({"get": "list"}), name="loyalty-tiers"),
    path("loyalty/tiers/<str:tier>/", LoyaltyTierViewSet.as_view({"patch": "partial_update"}),
         name="loyalty-tier"),
    path("loyalty/program/", LoyaltyProgramViewSet.as_view({"get": "program", "patch": "program_update"}),
         name="loyalty-program"),
    # credit
    path("customers/<id:customer_id>/credit/",
         CustomerCreditViewSet.as_view({"get": "account", "post": "credit_request"}), name="customer-credit"),
    path("credit/", CreditAccountViewSet.as_view({"get": "list"}), name="credit-list"),
    path("credit/<id:pk>/", CreditAccountViewSet.as_view({"get": "retrieve"}), name="credit-detail"),
    path("credit/<id:pk>/approve/", CreditAccountViewSet.as_view({"post": "approve"}), name="credit-approve"),
    path("credit/<id:pk>/suspend/", CreditAccountViewSet.as_view({"post": "suspend"}), name="credit-suspend"),
    path("credit/<id:pk>/reinstate/", CreditAccountViewSet.as_view({"post": "reinstate"}), name="credit-reinstate"),
    path("credit/<id:pk>/usages/", CreditUsageViewSet.as_view({"get": "list", "post": "create"}),
         name="credit-usages"),
    path("credit/<id:pk>/payments/", CreditPaymentViewSet.as_view({"get": "list", "post": "create"}),
         name="credit-payments"),
]
