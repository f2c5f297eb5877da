"""The customers app's API routes, every topic through one router (included in ``api_v1`` of
cdp/urls/tenant.py). Several topics hang under ``customers/{id}/`` (privacy, merge, credit;
loyalty's own app adds ``loyalty/``): each registers its own viewset there."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from cdp.ids import ID_PATTERN
from customers.api import access, attributes, consent, credit, merge, privacy, recovery, sales, views

router = SimpleRouter(trailing_slash=True)
# customers and orders
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("orders", views.OrderViewSet, basename="order")
# the counted-sale rule's recomputations
router.register("sales/recomputations", sales.SalesRecomputeJobViewSet, basename="sales-recompute")
# privacy, duplicates and merges
router.register("customers", privacy.CustomerPrivacyViewSet, basename="customer-privacy")
router.register("customers", merge.CustomerMergeActionViewSet, basename="customer-merge")
router.register("merges", merge.CustomerMergeViewSet, basename="merge")
router.register("duplicates", merge.DuplicateCandidateViewSet, basename="duplicate")
router.register("access-log", access.DataAccessLogViewSet, basename="access-log")
# recovery: revert logged changes
router.register("changes", recovery.ChangeRecoveryViewSet, basename="change")
# consent
router.register("customers", consent.CustomerConsentViewSet, basename="customer-consent")
# custom attributes
router.register("attributes", attributes.AttributeDefinitionViewSet, basename="attribute")
router.register("customers", attributes.CustomerAttributeViewSet, basename="customer-attributes")
# credit
router.register("customers", credit.CustomerCreditViewSet, basename="customer-credit")
router.register("credit", credit.CreditAccountViewSet, basename="credit")
router.register(f"credit/(?P<pk>{ID_PATTERN})/usages", credit.CreditUsageViewSet, basename="credit-usages")
router.register(f"credit/(?P<pk>{ID_PATTERN})/payments", credit.CreditPaymentViewSet, basename="credit-payments")

# The ingest path comes first so that the router's orders/{pk}/ does not shadow it.
urlpatterns = [
    path("orders/ingest/", views.OrderIngestView.as_view(), name="orders-ingest"),
    path("sales/counted-statuses/", sales.CountedSaleRuleView.as_view(), name="counted-sale-rule"),
    path("privacy/inactive/", privacy.InactivityPreviewView.as_view(), name="privacy-inactive"),
] + router.urls
