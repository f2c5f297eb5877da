"""The loyalty app's API routes (included in ``api_v1`` of cdp/urls/tenant.py), at the paths they
had while loyalty lived in customers: ``customers/{id}/loyalty/...``, ``loyalty/tiers/``,
``loyalty/program/``; and the coalition's ``loyalty/partners/``, ``rewards/``, ``vouchers/``,
``redemptions/``."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from loyalty.api import coalition, offers, reports, settlement, views

router = SimpleRouter(trailing_slash=True)
router.register("customers", views.CustomerLoyaltyViewSet, basename="customer-loyalty")
router.register("loyalty/tiers", views.LoyaltyTierViewSet, basename="loyalty-tier")
# the coalition
router.register("loyalty/partners", coalition.PartnerViewSet, basename="loyalty-partner")
router.register("loyalty/rewards", coalition.RewardViewSet, basename="loyalty-reward")
router.register("loyalty/vouchers", coalition.VoucherViewSet, basename="loyalty-voucher")
router.register("loyalty/redemptions", coalition.RedemptionViewSet, basename="loyalty-redemption")
router.register("loyalty/referrals", coalition.ReferralViewSet, basename="loyalty-referral")
router.register("loyalty/events", coalition.EventViewSet, basename="loyalty-event")
router.register("loyalty/cross-promo-chains", coalition.ChainViewSet, basename="loyalty-chain")
router.register("loyalty/offers", offers.OfferViewSet, basename="loyalty-offer")
router.register("loyalty/settlements", settlement.SettlementViewSet, basename="loyalty-settlement")
router.register("loyalty", views.LoyaltyProgramViewSet, basename="loyalty")

urlpatterns = [
    # A program report, beside the other analytics (loyalty computes it: analytics does not know loyalty).
    path("analytics/cross-promo-matrix/", coalition.CrossPromoMatrixView.as_view(), name="cross-promo-matrix"),
    path("analytics/loyalty-program/", reports.ProgramReportView.as_view(), name="loyalty-program-report"),
] + router.urls
