"""The partner settlement's API (``loyalty/settlements/``): the stored monthly statements, and
their (re)computation for a month. A partner-bound key reads its partner's statements only and
computes nothing; computing takes the ``loyalty`` capability."""

from __future__ import annotations

import datetime

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cdp.api.viewsets import BaseViewSetMixin
from cdp.context import actor_from_request
from loyalty import selectors, services
from loyalty.api.coalition import bound_partner, refuse_bound
from loyalty.models import PartnerSettlement
from tenants.roles import LOYALTY


class SettlementOutputSerializer(serializers.ModelSerializer):
    partner = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    period = serializers.SerializerMethodField()

    class Meta:
        model = PartnerSettlement
        fields = ["id", "partner", "period", "period_start", "period_end", "points_earned", "points_funded",
                  "points_redeemed", "net_points", "point_value", "amount", "currency", "computed_at"]

    def get_period(self, statement) -> str:
        return statement.period_start.strftime("%Y-%m")


def _month(value: str) -> datetime.date:
    try:
        return datetime.datetime.strptime(value.strip(), "%Y-%m").date()
    except (ValueError, AttributeError):
        raise serializers.ValidationError("Use a month as YYYY-MM.") from None


class SettlementComputeInputSerializer(serializers.Serializer):
    period = serializers.CharField(max_length=7, help_text="The month, YYYY-MM.")

    def validate_period(self, value):
        return _month(value)


class SettlementFilter(django_filters.FilterSet):
    partner = django_filters.CharFilter(field_name="partner__slug")
    period = django_filters.CharFilter(method="filter_period", help_text="A month, YYYY-MM.")

    class Meta:
        model = PartnerSettlement
        fields = ["partner", "period"]

    def filter_period(self, queryset, name, value):
        try:
            return queryset.filter(period_start=_month(value))
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"period": exc.detail}) from None


class SettlementViewSet(BaseViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Partner settlement statements, one per partner and month: points the partner funded
    against points redeemed at it, and the balance (``net_points`` > 0: the partner owes the
    program; ``amount`` in money at the program's point value)."""

    serves_partner_keys = True  # narrowed to a bound key's partner below
    serializer_class = SettlementOutputSerializer
    filterset_class = SettlementFilter
    ordering = ["-period_start", "id"]
    ordering_fields = ["period_start", "net_points", "amount", "id"]
    search_fields: list[str] = []
    required_capabilities = {"compute": LOYALTY}

    def get_queryset(self):
        return selectors.partner_settlement_list(partner_id=bound_partner(self.request))

    @extend_schema(request=SettlementComputeInputSerializer, responses={201: SettlementOutputSerializer(many=True)})
    @action(detail=False, methods=["post"])
    def compute(self, request):
        """(Re)compute every partner's statement for a month; idempotent."""
        refuse_bound(request)
        data = SettlementComputeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        statements = services.partner_settlements_compute(period=data.validated_data["period"],
                                                          actor=actor_from_request(request))
        return Response(SettlementOutputSerializer(statements, many=True).data, status=status.HTTP_201_CREATED)
