from django.urls import path
from rest_framework.routers import SimpleRouter

from customers.api import views
from customers.api.sales import CountedSaleRuleView, SalesRecomputeJobViewSet

router = SimpleRouter(trailing_slash=True)
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("orders", views.OrderViewSet, basename="order")
router.register("sales/recomputations", SalesRecomputeJobViewSet, basename="sales-recompute")

# The ingest path comes first so that the router's orders/{pk}/ does not shadow it.
urlpatterns = [
    path("orders/ingest/", views.OrderIngestView.as_view(), name="orders-ingest"),
    path("sales/counted-statuses/", CountedSaleRuleView.as_view(), name="counted-sale-rule"),
] + router.urls
