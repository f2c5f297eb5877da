"""Partner offers' API (``loyalty/offers/``): create and edit them (``loyalty`` capability), and
issue their vouchers to the matching members. A partner-bound key sees and issues its partner's
offers only, and creates or edits none."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cdp.api.viewsets import BaseViewSetMixin
from cdp.context import actor_from_request
from loyalty import selectors
from loyalty.api.coalition import bound_partner, partner_values, refuse_bound
from loyalty.models import Offer, Tier, VoucherKind
from loyalty.services import offer_create, offer_issue, offer_update
from tenants.roles import LOYALTY

MONEY = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal(0)}


class OfferOutputSerializer(serializers.ModelSerializer):
    partner = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    issued = serializers.IntegerField(read_only=True)

    class Meta:
        model = Offer
        fields = ["id", "name", "description", "partner", "status", "tiers", "audience", "kind", "value",
                  "item_name", "min_spend", "validity_days", "budget", "issued", "starts_at", "ends_at",
                  "created_at", "updated_at"]


class OfferInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    partner = serializers.SlugField(required=False, allow_null=True, help_text="A partner's slug; empty: the program.")
    status = serializers.ChoiceField(choices=Offer.Status.choices, required=False)
    tiers = serializers.ListField(child=serializers.ChoiceField(choices=Tier.choices), required=False, max_length=4)
    audience = serializers.DictField(child=serializers.CharField(max_length=200), required=False,
                                     help_text="Customer filters as the customers list takes them, e.g. "
                                               '{"rfm_segment": "champions"} or {"segment": "12"}.')
    kind = serializers.ChoiceField(choices=VoucherKind.choices)
    value = serializers.DecimalField(**MONEY, required=False)
    item_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    min_spend = serializers.DecimalField(**MONEY, required=False)
    validity_days = serializers.IntegerField(min_value=1, max_value=3650, required=False)
    budget = serializers.IntegerField(min_value=1, max_value=10_000_000)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()

    def validate_partner(self, value):
        if value in (None, ""):
            return None
        partner = selectors.partner_by_slug(slug=value)
        if partner is None:
            raise serializers.ValidationError("No partner has this slug.")
        return partner


class OfferIssueOutputSerializer(serializers.Serializer):
    issued = serializers.IntegerField()
    remaining = serializers.IntegerField(help_text="Vouchers the budget still allows.")


class OfferViewSet(BaseViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Partner offers (``loyalty/offers/``): targeted by tier and audience, with a budget and
    dates; ``issue`` gives each matching member one voucher."""

    serves_partner_keys = True  # narrowed to a bound key's partner below
    serializer_class = OfferOutputSerializer
    ordering = ["-starts_at", "id"]
    ordering_fields = ["starts_at", "ends_at", "name", "id"]
    search_fields = ["name"]
    filterset_fields = ["status"]
    required_capabilities = {"create": LOYALTY, "partial_update": LOYALTY, "issue": LOYALTY}

    def get_queryset(self):
        return selectors.offer_list(partner_id=bound_partner(self.request))

    @extend_schema(request=OfferInputSerializer, responses={201: OfferOutputSerializer})
    def create(self, request):
        refuse_bound(request)
        data = OfferInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        offer = offer_create(actor=actor_from_request(request), values=partner_values(data.validated_data))
        return Response(OfferOutputSerializer(selectors.offer_list().get(pk=offer.pk)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=OfferInputSerializer(partial=True), responses=OfferOutputSerializer)
    def partial_update(self, request, pk=None):
        refuse_bound(request)
        data = OfferInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        offer = offer_update(offer_id=pk, actor=actor_from_request(request), values=partner_values(data.validated_data))
        return Response(OfferOutputSerializer(selectors.offer_list().get(pk=offer.pk)).data)

    @extend_schema(request=None, responses=OfferIssueOutputSerializer)
    @action(detail=True, methods=["post"])
    def issue(self, request, pk=None):
        """Issue the offer's vouchers to the members it targets who have none yet, within its budget."""
        result = offer_issue(offer_id=pk, actor=actor_from_request(request), partner_id=bound_partner(request))
        return Response(OfferIssueOutputSerializer(result).data)
