"""The loyalty program report (issue #15 item 9), beside the other analytics:
``GET /api/v1/analytics/loyalty-program/``. Loyalty computes it (analytics does not know loyalty);
read with the ``analytics`` capability; not for a partner's key."""

from __future__ import annotations

import datetime

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty import selectors
from tenants.roles import ANALYTICS

MONEY = {"max_digits": 15, "decimal_places": 2}
RATE = {"max_digits": 7, "decimal_places": 4}
DEFAULT_DAYS = 30


class ProgramReportQuerySerializer(serializers.Serializer):
    since = serializers.DateField(required=False, help_text="First day (inclusive); default 30 days ago.")
    until = serializers.DateField(required=False, help_text="Last day (inclusive); default today.")

    def validate(self, data):
        until = data.get("until") or timezone.localdate()
        since = data.get("since") or until - datetime.timedelta(days=DEFAULT_DAYS - 1)
        if since > until:
            raise serializers.ValidationError({"until": ["Must not be before since."]})
        if (until - since).days > 3660:
            raise serializers.ValidationError({"since": ["At most ten years."]})
        return {"since": since, "until": until}


class PartnerRowSerializer(serializers.Serializer):
    partner = serializers.CharField()
    name = serializers.CharField()
    orders = serializers.IntegerField()
    revenue = serializers.DecimalField(**MONEY)
    points = serializers.IntegerField(help_text="Points earned at the partner in the period.")


class MonthRowSerializer(serializers.Serializer):
    month = serializers.DateField()
    issued = serializers.IntegerField()
    redeemed = serializers.IntegerField()


class ProgramReportSerializer(serializers.Serializer):
    since = serializers.DateField()
    until = serializers.DateField()
    members = serializers.IntegerField(help_text="Customers with a loyalty account.")
    active_members = serializers.IntegerField(help_text="Members who earned points in the period.")
    points_issued = serializers.IntegerField()
    points_redeemed = serializers.IntegerField()
    points_expired = serializers.IntegerField()
    redemption_rate = serializers.DecimalField(**RATE, help_text="Redeemed / issued in the period.")
    breakage_rate = serializers.DecimalField(**RATE, help_text="Expired / issued in the period.")
    liability_points = serializers.IntegerField(help_text="Points outstanding now.")
    point_value = serializers.DecimalField(max_digits=10, decimal_places=4)
    liability_amount = serializers.DecimalField(**MONEY, help_text="liability_points × point_value.")
    member_revenue = serializers.DecimalField(**MONEY)
    non_member_revenue = serializers.DecimalField(**MONEY)
    partners = PartnerRowSerializer(many=True)
    months = MonthRowSerializer(many=True)


class ProgramReportView(APIView):
    """The loyalty program's figures for a period: members, activity, points issued, redeemed and
    expired, redemption and breakage rates, liability, member vs non-member revenue, partners."""

    required_capabilities = {"get": ANALYTICS}

    @extend_schema(parameters=[ProgramReportQuerySerializer], responses=ProgramReportSerializer,
                   operation_id="analytics_loyalty_program")
    def get(self, request):
        query = ProgramReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(ProgramReportSerializer(selectors.program_report(**query.validated_data)).data)
