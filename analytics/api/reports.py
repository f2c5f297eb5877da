"""Seed 003's reports over the API (issue #21 item 11): geographic distribution, change analysis
and data-update rate. Aggregates for analysis: they need ``analytics`` (analysts and up, keys
issued with it), a viewer's ``read`` is not enough."""

from __future__ import annotations

from django.db import connection
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.selectors.reports import (
    GEOGRAPHY_LEVELS,
    MAX_DAYS,
    MAX_ROWS,
    changes_report,
    geography_report,
    update_rate_report,
)
from tenants.roles import ANALYTICS


class GeographyInputSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=list(GEOGRAPHY_LEVELS), default="country")
    country = serializers.RegexField(r"^[A-Za-z]{2}$", required=False, default="",
                                     help_text="ISO 3166-1 alpha-2: only this country's states or cities.")
    limit = serializers.IntegerField(min_value=1, max_value=MAX_ROWS, default=50)


class PeriodInputSerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=MAX_DAYS, default=30,
                                    help_text="The last N days of the tenant's calendar, today included.")


class GeographyRowSerializer(serializers.Serializer):
    country = serializers.CharField()
    state = serializers.CharField(required=False)
    city = serializers.CharField(required=False)
    customers = serializers.IntegerField()
    buyers = serializers.IntegerField(help_text="Customers with at least one counted order.")
    revenue = serializers.DecimalField(max_digits=18, decimal_places=2)


class GeographyOutputSerializer(serializers.Serializer):
    level = serializers.CharField()
    country = serializers.CharField()
    total_customers = serializers.IntegerField()
    total_revenue = serializers.DecimalField(max_digits=18, decimal_places=2)
    rows = GeographyRowSerializer(many=True)


class FieldChangesSerializer(serializers.Serializer):
    field = serializers.CharField()
    changes = serializers.IntegerField()
    customers = serializers.IntegerField()


class SourceChangesSerializer(serializers.Serializer):
    source = serializers.CharField(help_text="The origin: a feed, manual (people), or empty (system).")
    changes = serializers.IntegerField()


class DayChangesSerializer(serializers.Serializer):
    date = serializers.DateField()
    changes = serializers.IntegerField()


class ChangesOutputSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    since = serializers.DateField()
    total = serializers.IntegerField()
    fields = FieldChangesSerializer(many=True)
    sources = SourceChangesSerializer(many=True)
    per_day = DayChangesSerializer(many=True)


class CompletenessSerializer(serializers.Serializer):
    field = serializers.CharField()
    filled = serializers.IntegerField()
    share = serializers.FloatField()


class DayUpdatesSerializer(serializers.Serializer):
    date = serializers.DateField()
    customers = serializers.IntegerField()


class UpdateRateOutputSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    since = serializers.DateField()
    customers = serializers.IntegerField()
    added = serializers.IntegerField()
    updated = serializers.IntegerField(help_text="Customers with a profile change in the period.")
    update_rate = serializers.FloatField(help_text="updated / customers.")
    completeness = CompletenessSerializer(many=True)
    per_day = DayUpdatesSerializer(many=True)


def _params(serializer_class, request) -> dict:
    data = serializer_class(data=request.query_params)
    data.is_valid(raise_exception=True)
    return data.validated_data


class GeographyReportView(APIView):
    """Customers, buyers and revenue per country, state or city (most customers first)."""

    required_capabilities = {"get": ANALYTICS}

    @extend_schema(parameters=[GeographyInputSerializer], responses=GeographyOutputSerializer)
    def get(self, request):
        return Response(GeographyOutputSerializer(geography_report(**_params(GeographyInputSerializer, request))).data)


class ChangesReportView(APIView):
    """Profile changes of the period: most changed fields, per origin, per day."""

    required_capabilities = {"get": ANALYTICS}

    @extend_schema(parameters=[PeriodInputSerializer], responses=ChangesOutputSerializer)
    def get(self, request):
        report = changes_report(**_params(PeriodInputSerializer, request), tz_name=connection.tenant.setting("timezone"))
        return Response(ChangesOutputSerializer(report).data)


class UpdateRateReportView(APIView):
    """The data-update rate (customers whose profile changed in the period) and completeness."""

    required_capabilities = {"get": ANALYTICS}

    @extend_schema(parameters=[PeriodInputSerializer], responses=UpdateRateOutputSerializer)
    def get(self, request):
        report = update_rate_report(**_params(PeriodInputSerializer, request),
                                    tz_name=connection.tenant.setting("timezone"))
        return Response(UpdateRateOutputSerializer(report).data)
