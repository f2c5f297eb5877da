"""The loyalty app's API routes (included in ``api_v1`` of cdp/urls/tenant.py), at the paths they
had while loyalty lived in customers: ``customers/{id}/loyalty/...``, ``loyalty/tiers/``,
``loyalty/program/``."""

from rest_framework.routers import SimpleRouter

from loyalty.api import views

router = SimpleRouter(trailing_slash=True)
router.register("customers", views.CustomerLoyaltyViewSet, basename="customer-loyalty")
router.register("loyalty/tiers", views.LoyaltyTierViewSet, basename="loyalty-tier")
router.register("loyalty", views.LoyaltyProgramViewSet, basename="loyalty")

urlpatterns = router.urls
