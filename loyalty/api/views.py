"""Loyalty API: a customer's account and points ledger, redemption, staff adjustments and
bonuses, and the program's tier rules. Input serializers validate, services write."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cdp.api.viewsets import BaseViewSetMixin
from cdp.context import actor_from_request
from cdp.ids import ID_PATTERN
from loyalty import selectors, services
from loyalty.filters import LoyaltyTransactionFilter
from loyalty.services.member import member_link_issue
from loyalty.models import LoyaltyAccount, LoyaltyProgram, LoyaltyTierRule, LoyaltyTransaction, Tier
from tenants.roles import LOYALTY

#: Tier rules and program settings shape every customer's earnings: only the roles that manage the
#: tenant (owner, admin) may change them, through the ``loyalty`` capability (an API key needs it in
#: its scopes).
STAFF_CAPABILITY = LOYALTY
MAX_POINTS = services.MAX_POINTS_PER_ENTRY


# --- serializers --------------------------------------------------------------------------------

class LoyaltyAccountOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = LoyaltyAccount
        fields = ["id", "customer", "points_balance", "lifetime_points", "points_redeemed", "points_expired", "tier",
                  "tier_since", "tier_evaluated_at", "rolling_spend", "rolling_points", "created_at", "updated_at"]


class LoyaltyTransactionOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = LoyaltyTransaction
        fields = ["id", "type", "points", "remaining", "expires_at", "order", "reference", "description", "metadata",
                  "created_by", "created_at"]


class LoyaltyLedgerOutputSerializer(serializers.Serializer):
    account = LoyaltyAccountOutputSerializer()
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = LoyaltyTransactionOutputSerializer(many=True)


class LoyaltyOperationOutputSerializer(serializers.Serializer):
    transaction = LoyaltyTransactionOutputSerializer()
    account = LoyaltyAccountOutputSerializer()


class LoyaltyRedeemInputSerializer(serializers.Serializer):
    points = serializers.IntegerField(min_value=1, max_value=MAX_POINTS)
    description = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")
    reference = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")


class LoyaltyAdjustInputSerializer(serializers.Serializer):
    points = serializers.IntegerField(min_value=-MAX_POINTS, max_value=MAX_POINTS,
                                      help_text="Signed: positive credits, negative debits (never below zero).")
    reason = serializers.CharField(max_length=255)
    reference = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")

    def validate_points(self, value):
        if value == 0:
            raise serializers.ValidationError("Must not be 0.")
        return value


class LoyaltyBonusInputSerializer(serializers.Serializer):
    points = serializers.IntegerField(min_value=1, max_value=MAX_POINTS)
    reason = serializers.CharField(max_length=255)
    reference = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")
    validity_days = serializers.IntegerField(required=False, min_value=0, max_value=3650, allow_null=True,
                                             default=None, help_text="Default: the program's; 0 never expires.")


class ReferralCodeOutputSerializer(serializers.Serializer):
    customer = serializers.IntegerField(source="customer_id")
    code = serializers.CharField()
    created_at = serializers.DateTimeField()


class LoyaltyTierRuleOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = LoyaltyTierRule
        fields = ["tier", "rank", "min_spend", "min_points", "multiplier", "benefits"]


class LoyaltyTierRuleUpdateInputSerializer(serializers.Serializer):
    min_spend = serializers.DecimalField(max_digits=15, decimal_places=2, min_value=0, required=False)
    min_points = serializers.IntegerField(min_value=0, max_value=2_000_000_000, required=False)
    multiplier = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, required=False)
    benefits = serializers.DictField(required=False)


class LoyaltyProgramOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = LoyaltyProgram
        fields = ["name", "is_active", "points_per_currency_unit", "points_validity_days", "tier_basis",
                  "tier_window_days", "referral_referrer_points", "referral_referred_points", "referral_monthly_cap",
                  "point_value", "updated_at"]


class LoyaltyProgramUpdateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    is_active = serializers.BooleanField(required=False)
    points_per_currency_unit = serializers.DecimalField(max_digits=10, decimal_places=4, min_value=0, required=False)
    points_validity_days = serializers.IntegerField(min_value=0, max_value=3650, required=False)
    tier_basis = serializers.ChoiceField(choices=LoyaltyProgram.TierBasis.choices, required=False)
    tier_window_days = serializers.IntegerField(min_value=1, max_value=3650, required=False)
    referral_referrer_points = serializers.IntegerField(min_value=0, max_value=MAX_POINTS, required=False)
    referral_referred_points = serializers.IntegerField(min_value=0, max_value=MAX_POINTS, required=False)
    referral_monthly_cap = serializers.IntegerField(min_value=0, max_value=100_000, required=False)
    point_value = serializers.DecimalField(max_digits=10, decimal_places=4, min_value=0, required=False,
                                          help_text="What a point is worth in the tenant's currency.")


class MemberLinkOutputSerializer(serializers.Serializer):
    url = serializers.CharField(help_text="The one-time sign-in link (shown once).")
    expires_at = serializers.DateTimeField()


# --- views --------------------------------------------------------------------------------------

LEDGER_PARAMETERS = [
    OpenApiParameter("page", OpenApiTypes.INT, description="Ledger page."),
    OpenApiParameter("page_size", OpenApiTypes.INT, description="Entries per page (at most 500)."),
    OpenApiParameter("type", OpenApiTypes.STR, many=True, enum=LoyaltyTransaction.Type.values),
    OpenApiParameter("order", OpenApiTypes.INT),
    OpenApiParameter("created_after", OpenApiTypes.DATETIME),
    OpenApiParameter("created_before", OpenApiTypes.DATETIME),
    OpenApiParameter("ordering", OpenApiTypes.STR, enum=["created_at", "-created_at", "points", "-points"]),
]


class CustomerLoyaltyViewSet(BaseViewSetMixin, viewsets.GenericViewSet):
    """A customer's loyalty account with its paginated ledger, and the operations on it
    (``customers/{customer_id}/loyalty/...``)."""

    serializer_class = LoyaltyTransactionOutputSerializer
    filterset_class = LoyaltyTransactionFilter
    ordering = ["-created_at", "-id"]
    ordering_fields = ["created_at", "points", "id"]
    search_fields: list[str] = []
    lookup_url_kwarg = "customer_id"
    lookup_value_regex = ID_PATTERN
    required_capabilities = {"member_link": LOYALTY}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no customer
            return LoyaltyTransaction.objects.none()
        return selectors.loyalty_ledger(customer_id=self.kwargs["customer_id"])

    def _operation(self, entry: LoyaltyTransaction, customer_id) -> Response:
        _, account = selectors.loyalty_account_for_customer(customer_id=customer_id)
        return Response(LoyaltyOperationOutputSerializer({"transaction": entry, "account": account}).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(responses=LoyaltyLedgerOutputSerializer, parameters=LEDGER_PARAMETERS,
                   operation_id="customers_loyalty_retrieve")
    @action(detail=True, methods=["get"], url_path="loyalty")
    def account(self, request, customer_id=None):
        _, account = selectors.loyalty_account_for_customer(customer_id=customer_id)
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        response = self.get_paginated_response(LoyaltyTransactionOutputSerializer(page, many=True).data)
        response.data = {"account": LoyaltyAccountOutputSerializer(account).data, **response.data}
        return response

    @extend_schema(request=LoyaltyRedeemInputSerializer, responses={201: LoyaltyOperationOutputSerializer})
    @action(detail=True, methods=["post"], url_path="loyalty/redeem")
    def redeem(self, request, customer_id=None):
        data = LoyaltyRedeemInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.loyalty_points_redeem(customer_id=customer_id, actor=actor_from_request(request),
                                               **data.validated_data)
        return self._operation(entry, customer_id)

    @extend_schema(request=LoyaltyAdjustInputSerializer, responses={201: LoyaltyOperationOutputSerializer})
    @action(detail=True, methods=["post"], url_path="loyalty/adjust")
    def adjust(self, request, customer_id=None):
        data = LoyaltyAdjustInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.loyalty_points_adjust(customer_id=customer_id, actor=actor_from_request(request),
                                               **data.validated_data)
        return self._operation(entry, customer_id)

    @extend_schema(request=LoyaltyBonusInputSerializer, responses={201: LoyaltyOperationOutputSerializer})
    @action(detail=True, methods=["post"], url_path="loyalty/bonus")
    def bonus(self, request, customer_id=None):
        data = LoyaltyBonusInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.loyalty_points_bonus(customer_id=customer_id, actor=actor_from_request(request),
                                              **data.validated_data)
        return self._operation(entry, customer_id)

    @extend_schema(request=None, responses={201: ReferralCodeOutputSerializer, 200: ReferralCodeOutputSerializer},
                   operation_id="customers_loyalty_referral_code_create")
    @action(detail=True, methods=["post"], url_path="loyalty/referral-code")
    def referral_code(self, request, customer_id=None):
        """The customer's referral code, issued on the first call (201), the same one after (200)."""
        code, created = services.referral_code_issue(customer_id=customer_id, actor=actor_from_request(request))
        return Response(ReferralCodeOutputSerializer(code).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


    @extend_schema(request=None, responses={201: MemberLinkOutputSerializer},
                   operation_id="customers_loyalty_member_link_create")
    @action(detail=True, methods=["post"], url_path="loyalty/member-link")
    def member_link(self, request, customer_id=None):
        """A one-time sign-in link to the member page for this customer (``/member/`` on the
        tenant's host), to hand to them; it is shown once and expires. Needs ``loyalty``."""
        link, url = member_link_issue(customer_id=customer_id, actor=actor_from_request(request),
                                      tenant=request.tenant, scheme=request.scheme, port=request.get_port())
        return Response(MemberLinkOutputSerializer({"url": url, "expires_at": link.expires_at}).data,
                        status=status.HTTP_201_CREATED)


class LoyaltyTierViewSet(BaseViewSetMixin, viewsets.GenericViewSet):
    """The tier rules, bronze to platinum (created with the tenant). Admins edit them."""

    serializer_class = LoyaltyTierRuleOutputSerializer
    ordering = ["rank"]
    ordering_fields = ["rank"]
    search_fields: list[str] = []
    filterset_class = None
    lookup_field = "tier"
    lookup_value_regex = f"(?:{'|'.join(Tier.values)})"
    required_capabilities = {"partial_update": STAFF_CAPABILITY}

    def get_queryset(self):
        return selectors.loyalty_tier_rule_list()

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(LoyaltyTierRuleOutputSerializer(page, many=True).data)

    @extend_schema(request=LoyaltyTierRuleUpdateInputSerializer, responses=LoyaltyTierRuleOutputSerializer)
    def partial_update(self, request, tier=None):
        data = LoyaltyTierRuleUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule = services.loyalty_tier_rule_update(tier=tier, actor=actor_from_request(request), **data.validated_data)
        return Response(LoyaltyTierRuleOutputSerializer(rule).data)


class LoyaltyProgramViewSet(viewsets.GenericViewSet):
    """The program's settings: earning rate, points validity, tier basis and window
    (``loyalty/program/``)."""

    serializer_class = LoyaltyProgramOutputSerializer
    pagination_class = None
    filter_backends: list = []
    required_capabilities = {"program_update": STAFF_CAPABILITY}

    @extend_schema(responses=LoyaltyProgramOutputSerializer, operation_id="loyalty_program_retrieve")
    @action(detail=False, methods=["get"], url_path="program")
    def program(self, request):
        return Response(LoyaltyProgramOutputSerializer(selectors.loyalty_program_get()).data)

    @extend_schema(request=LoyaltyProgramUpdateInputSerializer, responses=LoyaltyProgramOutputSerializer,
                   operation_id="loyalty_program_partial_update")
    @program.mapping.patch
    def program_update(self, request):
        data = LoyaltyProgramUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        program = services.loyalty_program_update(actor=actor_from_request(request), values=data.validated_data)
        return Response(LoyaltyProgramOutputSerializer(program).data)
