"""The coalition's API (seed 002): partners and their bound keys, the rewards catalog and its
redemption into vouchers, vouchers (list, point-of-sale check, use, void) and redemptions.

A partner-bound API key (``POST loyalty/partners/{id}/keys/``) sees only its partner: its rewards,
the vouchers valid at it and their redemptions; it uses vouchers at its partner only and changes
no partner or reward. Program-level writes (partners, rewards, voiding) take the ``loyalty``
capability; redeeming and using vouchers take ``write``; reads and the check take ``read``.
"""

from __future__ import annotations

from decimal import Decimal

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from cdp.api.viewsets import BaseViewSetMixin
from cdp.context import actor_from_request
from cdp.exceptions import ApplicationError
from cdp.filters import IdFilter
from cdp.ids import MAX_ID
from loyalty import selectors, services
from loyalty.codes import ErrorCode
from loyalty.models import CrossPromoChain, Event, EventRegistration, Partner, Referral, Reward, RewardRedemption, Voucher, VoucherKind
from tenants.models import ApiKey
from tenants.roles import ANALYTICS, LOYALTY, READ, WRITE

MONEY = {"max_digits": 12, "decimal_places": 2, "min_value": 0}


def bound_partner(request) -> int | None:
    """The partner the request's API key is bound to (None: a member, or an unbound key)."""
    if isinstance(request.auth, ApiKey):
        return selectors.partner_bound_to_key(api_key_id=request.auth.pk)
    return None


def refuse_bound(request) -> None:
    if bound_partner(request) is not None:
        raise PermissionDenied("A partner's key reaches its partner's rows only.")


# --- serializers ----------------------------------------------------------------------------------

class PartnerOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Partner
        fields = ["id", "name", "slug", "category", "status", "contact_name", "contact_email", "contact_phone",
                  "funding_share", "earn_multiplier", "created_at", "updated_at"]


class PartnerInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=64)
    category = serializers.CharField(max_length=64, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=Partner.Status.choices, required=False)
    contact_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    contact_email = serializers.EmailField(required=False, allow_blank=True)
    contact_phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    funding_share = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100,
                                             required=False)
    earn_multiplier = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=Decimal("0.01"), max_value=100,
                                               required=False)


class PartnerKeyInputSerializer(serializers.Serializer):
    api_key_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class PartnerKeyOutputSerializer(serializers.Serializer):
    partner = serializers.IntegerField(source="partner_id")
    api_key_id = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class RewardOutputSerializer(serializers.ModelSerializer):
    partner = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Reward
        fields = ["id", "name", "description", "partner", "points_cost", "kind", "value", "item_name", "min_spend",
                  "validity_days", "per_customer_limit", "is_active", "created_at", "updated_at"]


class RewardInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    partner = serializers.SlugField(required=False, allow_null=True, help_text="A partner's slug; empty: anywhere.")
    points_cost = serializers.IntegerField(min_value=1, max_value=services.MAX_POINTS_PER_ENTRY)
    kind = serializers.ChoiceField(choices=VoucherKind.choices)
    value = serializers.DecimalField(**MONEY, required=False)
    item_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    min_spend = serializers.DecimalField(**MONEY, required=False)
    validity_days = serializers.IntegerField(min_value=1, max_value=3650, required=False)
    per_customer_limit = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False)
    is_active = serializers.BooleanField(required=False)

    def validate_partner(self, value):
        if value in (None, ""):
            return None
        partner = selectors.partner_by_slug(slug=value)
        if partner is None:
            raise serializers.ValidationError("No partner has this slug.")
        return partner


def partner_values(data: dict) -> dict:
    values = dict(data)
    if "partner" in values:
        partner = values.pop("partner")
        values["partner_id"] = partner.pk if partner else None
    return values


class VoucherOutputSerializer(serializers.ModelSerializer):
    partner = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Voucher
        fields = ["id", "code", "customer", "partner", "kind", "value", "item_name", "min_spend", "valid_from",
                  "valid_until", "status", "origin", "reward", "redeemed_at", "redeemed_amount", "created_at"]


class RedemptionOutputSerializer(serializers.ModelSerializer):
    voucher = VoucherOutputSerializer()

    class Meta:
        model = RewardRedemption
        fields = ["id", "customer", "reward", "points", "ledger_entry", "voucher", "created_at"]


class RewardRedeemInputSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class VoucherCheckInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=64)
    amount = serializers.DecimalField(**MONEY)
    partner = serializers.SlugField(required=False, allow_null=True,
                                    help_text="Where it is used (a partner's key: its own partner).")


class VoucherCheckOutputSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True, help_text="not_found, redeemed, expired, void, not_yet_valid, "
                                                              "foreign_partner or under_minimum.")
    discount = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    voucher = VoucherOutputSerializer(allow_null=True)


class VoucherUseInputSerializer(VoucherCheckInputSerializer):
    reference = serializers.CharField(max_length=255, required=False, allow_blank=True, default="",
                                      help_text="The purchase's id at the partner; a retry with it is answered "
                                                "with the voucher as used.")


class VoucherVoidInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255)


class VoucherFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id")
    status = django_filters.MultipleChoiceFilter(choices=Voucher.Status.choices)
    origin = django_filters.MultipleChoiceFilter(choices=Voucher.Origin.choices)
    code = django_filters.CharFilter(method="by_code")

    class Meta:
        model = Voucher
        fields = ["customer", "status", "origin", "code"]

    def by_code(self, queryset, name, value):
        return queryset.filter(code=selectors.voucher_code_normalize(value))


class ReferralOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Referral
        fields = ["id", "referrer", "referred", "code", "order", "status", "reason", "referrer_entry",
                  "referred_entry", "reviewed_by", "reviewed_at", "created_at"]


class ReferralReviewInputSerializer(serializers.Serializer):
    approve = serializers.BooleanField(help_text="true: both get their points; false: rejected.")


class ReferralFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Referral.Status.choices)
    referrer = IdFilter(field_name="referrer_id")

    class Meta:
        model = Referral
        fields = ["status", "referrer"]


class RedemptionFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id")
    reward = IdFilter(field_name="reward_id")

    class Meta:
        model = RewardRedemption
        fields = ["customer", "reward"]


def _partner_for(request, slug) -> int | None:
    """The partner of a voucher check or use: a bound key's own (naming another is refused)."""
    bound = bound_partner(request)
    named = None
    if slug:
        partner = selectors.partner_by_slug(slug=slug)
        if partner is None:
            raise ApplicationError("No partner has this slug.", code=ErrorCode.VOUCHER_INVALID,
                                   fields={"partner": ["Unknown partner."]})
        named = partner.pk
    if bound is not None and named is not None and named != bound:
        raise PermissionDenied("A partner's key acts for its own partner only.")
    return bound if bound is not None else named


# --- views ----------------------------------------------------------------------------------------

class PartnerViewSet(BaseViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The coalition's partner businesses (``loyalty/partners/``)."""

    serves_partner_keys = True  # narrowed to a bound key's partner below
    serializer_class = PartnerOutputSerializer
    ordering = ["name", "id"]
    ordering_fields = ["name", "created_at", "id"]
    search_fields = ["name", "slug", "category"]
    filterset_fields = ["status", "category"]
    required_capabilities = {"create": LOYALTY, "partial_update": LOYALTY, "keys": LOYALTY}

    def get_queryset(self):
        partners = selectors.partner_list()
        bound = bound_partner(self.request)
        return partners if bound is None else partners.filter(pk=bound)

    @extend_schema(request=PartnerInputSerializer, responses={201: PartnerOutputSerializer})
    def create(self, request):
        refuse_bound(request)
        data = PartnerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        partner = services.partner_create(actor=actor_from_request(request), values=data.validated_data)
        return Response(PartnerOutputSerializer(partner).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PartnerInputSerializer(partial=True), responses=PartnerOutputSerializer)
    def partial_update(self, request, pk=None):
        refuse_bound(request)
        data = PartnerInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        partner = services.partner_update(partner_id=pk, actor=actor_from_request(request), values=data.validated_data)
        return Response(PartnerOutputSerializer(partner).data)

    @extend_schema(request=PartnerKeyInputSerializer, responses={201: PartnerKeyOutputSerializer})
    @action(detail=True, methods=["post"])
    def keys(self, request, pk=None):
        """Bind one of the tenant's API keys to this partner."""
        refuse_bound(request)
        data = PartnerKeyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        binding = services.partner_key_bind(partner_id=pk, api_key_id=data.validated_data["api_key_id"],
                                            actor=actor_from_request(request), tenant=request.tenant)
        return Response(PartnerKeyOutputSerializer(binding).data, status=status.HTTP_201_CREATED)


class RewardViewSet(BaseViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The rewards catalog (``loyalty/rewards/``) and its redemption: points become a voucher."""

    serves_partner_keys = True  # narrowed to a bound key's partner below
    serializer_class = RewardOutputSerializer
    ordering = ["points_cost", "id"]
    ordering_fields = ["points_cost", "name", "id"]
    search_fields = ["name"]
    filterset_fields = ["is_active", "kind"]
    required_capabilities = {"create": LOYALTY, "partial_update": LOYALTY, "redeem": WRITE}

    def get_queryset(self):
        return selectors.reward_list(partner_id=bound_partner(self.request))

    @extend_schema(request=RewardInputSerializer, responses={201: RewardOutputSerializer})
    def create(self, request):
        refuse_bound(request)
        data = RewardInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reward = services.reward_create(actor=actor_from_request(request), values=partner_values(data.validated_data))
        return Response(RewardOutputSerializer(reward).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RewardInputSerializer(partial=True), responses=RewardOutputSerializer)
    def partial_update(self, request, pk=None):
        refuse_bound(request)
        data = RewardInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        reward = services.reward_update(reward_id=pk, actor=actor_from_request(request),
                                        values=partner_values(data.validated_data))
        return Response(RewardOutputSerializer(reward).data)

    @extend_schema(request=RewardRedeemInputSerializer,
                   responses={201: RedemptionOutputSerializer, 200: RedemptionOutputSerializer},
                   parameters=[OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER,
                                                description="Retries and double submits with the same key are "
                                                            "answered with the first redemption (200).")])
    @action(detail=True, methods=["post"])
    def redeem(self, request, pk=None):
        """Spend the reward's points of a customer and give them its voucher, atomically (201; a
        replay of the same Idempotency-Key: 200 with ``Idempotent-Replayed: true``)."""
        data = RewardRedeemInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        redemption, replayed = services.reward_redeem(
            reward_id=pk, customer_id=data.validated_data["customer_id"], actor=actor_from_request(request),
            idempotency_key=request.headers.get("Idempotency-Key"), partner_id=bound_partner(request))
        response = Response(RedemptionOutputSerializer(redemption).data,
                            status=status.HTTP_200_OK if replayed else status.HTTP_201_CREATED)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response


class VoucherViewSet(BaseViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Customers' vouchers (``loyalty/vouchers/``): list and search by code, the point-of-sale
    check, use at a partner, void."""

    serves_partner_keys = True  # narrowed to a bound key's partner below
    serializer_class = VoucherOutputSerializer
    filterset_class = VoucherFilter
    ordering = ["-created_at", "-id"]
    ordering_fields = ["created_at", "valid_until", "id"]
    search_fields: list[str] = []
    required_capabilities = {"check": READ, "use": WRITE, "void": LOYALTY}

    def get_queryset(self):
        return selectors.voucher_list(partner_id=bound_partner(self.request))

    @extend_schema(request=VoucherCheckInputSerializer, responses=VoucherCheckOutputSerializer)
    @action(detail=False, methods=["post"])
    def check(self, request):
        """Whether a code can be used for an amount at a partner; writes nothing."""
        data = VoucherCheckInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        partner_id = _partner_for(request, data.validated_data.get("partner"))
        partner = Partner.objects.filter(pk=partner_id).first() if partner_id else None
        result = selectors.voucher_check(code=data.validated_data["code"], amount=data.validated_data["amount"],
                                         partner=partner)
        return Response(VoucherCheckOutputSerializer(result).data)

    @extend_schema(request=VoucherUseInputSerializer, responses=VoucherOutputSerializer)
    @action(detail=False, methods=["post"])
    def use(self, request):
        """Use a voucher for a purchase at a partner, once (a retry with the same ``reference``
        gets the voucher as used; anything else: 409 ``voucher_invalid`` with the reason)."""
        data = VoucherUseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        voucher = services.voucher_use(code=data.validated_data["code"], amount=data.validated_data["amount"],
                                       partner_id=_partner_for(request, data.validated_data.get("partner")),
                                       actor=actor_from_request(request),
                                       reference=data.validated_data["reference"])
        return Response(VoucherOutputSerializer(voucher).data)

    @extend_schema(request=VoucherVoidInputSerializer, responses=VoucherOutputSerializer)
    @action(detail=True, methods=["post"])
    def void(self, request, pk=None):
        refuse_bound(request)
        data = VoucherVoidInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        voucher = services.voucher_void(voucher_id=pk, actor=actor_from_request(request),
                                        reason=data.validated_data["reason"])
        return Response(VoucherOutputSerializer(voucher).data)


class RedemptionViewSet(BaseViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    """Rewards redeemed (``loyalty/redemptions/``)."""

    serves_partner_keys = True  # narrowed to a bound key's partner below
    serializer_class = RedemptionOutputSerializer
    filterset_class = RedemptionFilter
    ordering = ["-created_at", "-id"]
    ordering_fields = ["created_at", "id"]
    search_fields: list[str] = []

    def get_queryset(self):
        return selectors.redemption_list(partner_id=bound_partner(self.request))



class ReferralViewSet(BaseViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Referrals (``loyalty/referrals/``): rewarded ones, and those held for review
    (``?status=review``: self-referrals, over the monthly cap) that staff approve or reject.
    Program-wide: not for a partner's key."""

    serializer_class = ReferralOutputSerializer
    filterset_class = ReferralFilter
    ordering = ["-created_at", "-id"]
    ordering_fields = ["created_at", "id"]
    search_fields: list[str] = []
    required_capabilities = {"review": LOYALTY}

    def get_queryset(self):
        refuse_bound(self.request)
        return selectors.referral_list()

    @extend_schema(request=ReferralReviewInputSerializer, responses=ReferralOutputSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        refuse_bound(request)
        data = ReferralReviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        referral = services.referral_review(referral_id=pk, approve=data.validated_data["approve"],
                                            actor=actor_from_request(request))
        return Response(ReferralOutputSerializer(referral).data)



# --- events ---------------------------------------------------------------------------------------

class EventOutputSerializer(serializers.ModelSerializer):
    partner = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Event
        fields = ["id", "title", "description", "partner", "starts_at", "ends_at", "location", "capacity", "status",
                  "checkin_points", "reminder_hours", "created_at", "updated_at"]


class EventInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    partner = serializers.SlugField(required=False, allow_null=True, help_text="The host partner's slug.")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    location = serializers.CharField(max_length=255, required=False, allow_blank=True)
    capacity = serializers.IntegerField(min_value=1, max_value=1_000_000)
    status = serializers.ChoiceField(choices=Event.Status.choices, required=False)
    checkin_points = serializers.IntegerField(min_value=0, max_value=services.MAX_POINTS_PER_ENTRY, required=False)
    reminder_hours = serializers.IntegerField(min_value=0, max_value=24 * 60, required=False)

    validate_partner = RewardInputSerializer.validate_partner


class EventRegistrationOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = EventRegistration
        fields = ["id", "event", "customer", "status", "queued_at", "checked_in_at", "points_entry", "reminded_at"]


class EventCustomerInputSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class EventViewSet(BaseViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Community events (``loyalty/events/``): staff publish them; members register (a seat or the
    waitlist), cancel and check in (points). A partner's key reaches its partner's events."""

    serves_partner_keys = True  # narrowed to a bound key's partner below
    serializer_class = EventOutputSerializer
    ordering = ["starts_at", "id"]
    ordering_fields = ["starts_at", "id"]
    search_fields = ["title"]
    filterset_fields = ["status"]
    required_capabilities = {"create": LOYALTY, "partial_update": LOYALTY, "register": WRITE,
                             "cancel_registration": WRITE, "check_in": WRITE, "registrations": READ,
                             "reminders_due": READ}

    def get_queryset(self):
        return selectors.event_list(partner_id=bound_partner(self.request))

    @extend_schema(request=EventInputSerializer, responses={201: EventOutputSerializer})
    def create(self, request):
        refuse_bound(request)
        data = EventInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = services.event_create(actor=actor_from_request(request), values=partner_values(data.validated_data))
        return Response(EventOutputSerializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=EventInputSerializer(partial=True), responses=EventOutputSerializer)
    def partial_update(self, request, pk=None):
        refuse_bound(request)
        data = EventInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        event = services.event_update(event_id=pk, actor=actor_from_request(request),
                                      values=partner_values(data.validated_data))
        return Response(EventOutputSerializer(event).data)

    @extend_schema(request=None, responses=EventRegistrationOutputSerializer(many=True))
    @action(detail=True, methods=["get"])
    def registrations(self, request, pk=None):
        event = self.get_object()
        page = self.paginate_queryset(selectors.event_registrations(event_id=event.pk))
        return self.get_paginated_response(EventRegistrationOutputSerializer(page, many=True).data)

    def _registration(self, request, pk, service, created_status=status.HTTP_200_OK):
        data = EventCustomerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        registration = service(event_id=pk, customer_id=data.validated_data["customer_id"],
                               actor=actor_from_request(request), partner_id=bound_partner(request))
        return Response(EventRegistrationOutputSerializer(registration).data, status=created_status)

    @extend_schema(request=EventCustomerInputSerializer, responses=EventRegistrationOutputSerializer)
    @action(detail=True, methods=["post"])
    def register(self, request, pk=None):
        """A seat while there is one, else the waitlist (``status`` says which)."""
        return self._registration(request, pk, services.event_register)

    @extend_schema(request=EventCustomerInputSerializer, responses=EventRegistrationOutputSerializer)
    @action(detail=True, methods=["post"], url_path="cancel-registration")
    def cancel_registration(self, request, pk=None):
        """The seat goes to the first of the waitlist."""
        return self._registration(request, pk, services.event_registration_cancel)

    @extend_schema(request=EventCustomerInputSerializer, responses=EventRegistrationOutputSerializer)
    @action(detail=True, methods=["post"], url_path="check-in")
    def check_in(self, request, pk=None):
        """A registered member arrived: the event's check-in points, once."""
        return self._registration(request, pk, services.event_check_in)

    @extend_schema(request=None, responses=EventRegistrationOutputSerializer(many=True))
    @action(detail=False, methods=["get"], url_path="reminders-due")
    def reminders_due(self, request):
        """Registered members to remind now (events starting within their reminder hours)."""
        page = self.paginate_queryset(selectors.event_reminders_due(partner_id=bound_partner(request)))
        return self.get_paginated_response(EventRegistrationOutputSerializer(page, many=True).data)



# --- cross-promotion and the Win-Win matrix -------------------------------------------------------

class ChainOutputSerializer(serializers.ModelSerializer):
    source_partner = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    target_partner = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = CrossPromoChain
        fields = ["id", "name", "source_partner", "target_partner", "min_amount", "kind", "value", "item_name",
                  "min_spend", "validity_days", "is_active", "created_at", "updated_at"]


class ChainInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    source_partner = serializers.SlugField(help_text="Where the purchase happens (a partner's slug).")
    target_partner = serializers.SlugField(help_text="Where the voucher is valid (a partner's slug).")
    min_amount = serializers.DecimalField(**MONEY, required=False)
    kind = serializers.ChoiceField(choices=VoucherKind.choices)
    value = serializers.DecimalField(**MONEY, required=False)
    item_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    min_spend = serializers.DecimalField(**MONEY, required=False)
    validity_days = serializers.IntegerField(min_value=1, max_value=3650, required=False)
    is_active = serializers.BooleanField(required=False)

    def _partner(self, value):
        partner = selectors.partner_by_slug(slug=value)
        if partner is None:
            raise serializers.ValidationError("No partner has this slug.")
        return partner

    validate_source_partner = _partner
    validate_target_partner = _partner


def chain_values(data: dict) -> dict:
    values = dict(data)
    for key in ("source_partner", "target_partner"):
        if key in values:
            values[f"{key}_id"] = values.pop(key).pk
    return values


class ChainViewSet(BaseViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Cross-promotion chains (``loyalty/cross-promo-chains/``): a purchase at one partner of at
    least ``min_amount`` (the order record's ``partner``) issues a voucher for another."""

    serializer_class = ChainOutputSerializer
    ordering = ["name", "id"]
    ordering_fields = ["name", "id"]
    search_fields = ["name"]
    filterset_fields = ["is_active"]
    required_capabilities = {"create": LOYALTY, "partial_update": LOYALTY}

    def get_queryset(self):
        refuse_bound(self.request)
        return selectors.chain_list()

    @extend_schema(request=ChainInputSerializer, responses={201: ChainOutputSerializer})
    def create(self, request):
        refuse_bound(request)
        data = ChainInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        chain = services.chain_create(actor=actor_from_request(request), values=chain_values(data.validated_data))
        return Response(ChainOutputSerializer(chain).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ChainInputSerializer(partial=True), responses=ChainOutputSerializer)
    def partial_update(self, request, pk=None):
        refuse_bound(request)
        data = ChainInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        chain = services.chain_update(chain_id=pk, actor=actor_from_request(request),
                                      values=chain_values(data.validated_data))
        return Response(ChainOutputSerializer(chain).data)


class CrossPromoMatrixRowSerializer(serializers.Serializer):
    source_partner = serializers.CharField()
    target_partner = serializers.CharField()
    triggers = serializers.IntegerField()
    conversions = serializers.IntegerField()
    conversion_rate = serializers.DecimalField(max_digits=7, decimal_places=4)


class CrossPromoMatrixQuerySerializer(serializers.Serializer):
    since = serializers.DateField(required=False, help_text="First day of the vouchers issued (inclusive).")
    until = serializers.DateField(required=False, help_text="Last day (inclusive).")

    def validate(self, data):
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise serializers.ValidationError({"until": ["Must not be before since."]})
        return data


class CrossPromoMatrixView(APIView):
    """The Win-Win matrix (seed ``cross_promo_conversions``): per source and target partner, the
    cross-promotion vouchers issued (triggers) and redeemed at the target in time (conversions).
    Served under the analytics API (it is a program report), read by the ``analytics`` capability;
    not for a partner's key."""

    required_capabilities = {"get": ANALYTICS}

    @extend_schema(parameters=[CrossPromoMatrixQuerySerializer],
                   responses=CrossPromoMatrixRowSerializer(many=True), operation_id="analytics_cross_promo_matrix")
    def get(self, request):
        refuse_bound(request)
        query = CrossPromoMatrixQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = selectors.cross_promo_matrix(since=query.validated_data.get("since"),
                                            until=query.validated_data.get("until"))
        return Response(CrossPromoMatrixRowSerializer(rows, many=True).data)
