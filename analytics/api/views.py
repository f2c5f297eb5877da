"""Analytics API on the tenant host: reads need ``read``; starting runs and editing segments or
definitions need ``analytics``. RFM, CLV and churn answer 403 ``feature_disabled`` when the
tenant's plan switches them off."""

from __future__ import annotations

import itertools

from django.db import connection
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import selectors
from analytics.api import serializers
from analytics.codes import ErrorCode
from analytics.filters import AdPerformanceFilter, ChurnFilter, ClvFilter, KpiFilter, RfmFilter, RunFilter, SegmentFilter
from analytics.models import CustomerChurn, CustomerClv, CustomerRfm, ProcessingJob, RfmSegmentDefinition, Segment
from analytics.services import analytics_run_enqueue, rfm_definition_update, segment_create, segment_delete, segment_update
from analytics.services.exports import export_approval_refusal, export_needs_approval
from analytics.services.jobs import STEP_FEATURES
from cdp.api.viewsets import BaseViewSetMixin, ReadOnlyViewSet
from cdp.csv import csv_lines
from cdp.exceptions import PermissionDenied
from cdp.ids import get_or_not_found
from tenants.roles import EXPORT
from cdp.context import actor_from_request
from customers.access import Action, log_access, log_list
from customers.masking import mask_customer, request_visibility
from customers.selectors.attributes import attribute_definitions, attribute_value_text, attribute_values_for
from tenants.services import data_export_record

ANALYTICS = "analytics"


def require_feature(step: str) -> None:
    if not connection.tenant.feature_enabled(STEP_FEATURES[step]):
        raise PermissionDenied(f"Your plan does not include {step}.", code=ErrorCode.FEATURE_DISABLED)


class FeatureGated:
    feature_step: str = ""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        require_feature(self.feature_step)


class RunViewSet(BaseViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Processing jobs. POST starts a run in the background: 202 with the job; 409
    ``run_in_progress`` while another run of this tenant is queued or running."""

    serializer_class = serializers.ProcessingJobOutputSerializer
    ordering = ["-created_at", "-id"]
    ordering_fields = ["created_at", "as_of", "status"]
    filterset_class = RunFilter
    required_capabilities = {"create": ANALYTICS}

    def get_queryset(self):
        return ProcessingJob.objects.all()

    @extend_schema(request=serializers.RunStartInputSerializer, responses={202: serializers.ProcessingJobOutputSerializer})
    def create(self, request):
        data = serializers.RunStartInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = analytics_run_enqueue(tenant=connection.tenant, actor=actor_from_request(request),
                                    as_of=data.validated_data.get("as_of"), only=data.validated_data.get("only"))
        job.refresh_from_db()
        return Response(serializers.ProcessingJobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class RfmViewSet(FeatureGated, ReadOnlyViewSet):
    """Current RFM rows; ``segments/`` summarizes them per segment."""

    feature_step = "rfm"
    serializer_class = serializers.CustomerRfmOutputSerializer
    filterset_class = RfmFilter
    ordering = "customer_id"
    ordering_fields = ["customer_id", "recency_days", "frequency", "monetary", "rfm_score"]
    lookup_field = "customer_id"

    def get_queryset(self):
        return CustomerRfm.objects.all()

    @extend_schema(responses=serializers.RfmSegmentSummaryOutputSerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def segments(self, request):
        rows = selectors.rfm_segment_summary()
        return Response(serializers.RfmSegmentSummaryOutputSerializer(rows, many=True).data)


class RfmDefinitionViewSet(FeatureGated, BaseViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                           mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """The editable segment definitions (used from the next run on)."""

    feature_step = "rfm"
    serializer_class = serializers.RfmSegmentDefinitionSerializer
    ordering = ["priority", "code"]
    ordering_fields = ["priority", "code"]
    http_method_names = ["get", "patch", "head", "options"]
    required_capabilities = {"partial_update": ANALYTICS}

    def get_queryset(self):
        return RfmSegmentDefinition.objects.all()

    def partial_update(self, request, pk=None):
        data = serializers.RfmSegmentDefinitionSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        definition = rfm_definition_update(definition_id=get_or_not_found(
            RfmSegmentDefinition, pk, "No such RFM segment definition.").pk, data=dict(data.validated_data),
                                           actor=actor_from_request(request), tenant=connection.tenant)
        return Response(serializers.RfmSegmentDefinitionSerializer(definition).data)


class ClvViewSet(FeatureGated, ReadOnlyViewSet):
    """Current CLV per customer; ``summary/`` has the latest fit (status, parameters) and distribution."""

    feature_step = "clv"
    serializer_class = serializers.CustomerClvOutputSerializer
    filterset_class = ClvFilter
    ordering = "-total_clv"
    ordering_fields = ["customer_id", "total_clv", "predicted_value", "probability_alive", "percentile"]
    lookup_field = "customer_id"

    def get_queryset(self):
        return CustomerClv.objects.order_by("-total_clv", "customer_id")

    @extend_schema(responses=dict)
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def summary(self, request):
        return Response(selectors.clv_summary())


class ChurnViewSet(FeatureGated, ReadOnlyViewSet):
    """Current churn scores; ``summary/`` has the model's evaluation and the band sizes."""

    feature_step = "churn"
    serializer_class = serializers.CustomerChurnOutputSerializer
    filterset_class = ChurnFilter
    ordering = "-probability"
    ordering_fields = ["customer_id", "probability", "days_since_last_purchase"]
    lookup_field = "customer_id"

    def get_queryset(self):
        return CustomerChurn.objects.order_by("-probability", "customer_id")

    @extend_schema(responses=dict)
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def summary(self, request):
        return Response(selectors.churn_summary())


class CohortView(APIView):
    """Monthly acquisition cohorts × months since the first purchase."""

    @extend_schema(responses=dict)
    def get(self, request):
        return Response({"cohorts": selectors.cohort_matrix()})


class KpiViewSet(ReadOnlyViewSet):
    """Daily KPIs; filter with ``start`` and ``end`` (inclusive dates)."""

    serializer_class = serializers.DailyKpiOutputSerializer
    filterset_class = KpiFilter
    ordering = "date"
    ordering_fields = ["date"]
    lookup_field = "date"
    lookup_value_regex = r"\d{4}-\d{2}-\d{2}"

    def get_queryset(self):
        return selectors.kpi_list()


class AdPerformanceViewSet(ReadOnlyViewSet):
    """Ad spend joined to counted sales, per day, channel and campaign (UTM attribution): spend,
    attributed orders and revenue, new customers, CAC and ROAS. ``summary/`` totals a period
    (``start``/``end``, default the last 30 days) per campaign and channel, and blended (all spend
    against all new customers and revenue)."""

    serializer_class = serializers.AdPerformanceOutputSerializer
    filterset_class = AdPerformanceFilter
    ordering = ["date", "channel", "campaign_id"]
    ordering_fields = ["date", "spend", "revenue", "cac", "roas"]

    def get_queryset(self):
        return selectors.ad_performance_list()

    @extend_schema(parameters=[serializers.AdPerformanceSummaryInputSerializer],
                   responses=serializers.AdPerformanceSummarySerializer)
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def summary(self, request):
        data = serializers.AdPerformanceSummaryInputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        return Response(serializers.AdPerformanceSummarySerializer(
            selectors.ad_performance_summary(**data.validated_data)).data)


class DataQualityView(APIView):
    """The latest data-quality checks and the data-health score."""

    @extend_schema(responses=dict)
    def get(self, request):
        latest = selectors.data_quality_latest()
        return Response({"as_of": latest["as_of"], "health_score": latest["health_score"],
                         "checks": serializers.DataQualityCheckOutputSerializer(latest["checks"], many=True).data})


class SegmentViewSet(BaseViewSetMixin, viewsets.ModelViewSet):
    """Dynamic segments: rules validated on write, members materialized on save and on each run."""

    serializer_class = serializers.SegmentOutputSerializer
    ordering = "name"
    ordering_fields = ["name", "member_count", "created_at"]
    filterset_class = SegmentFilter
    required_capabilities = {"create": ANALYTICS, "update": ANALYTICS, "partial_update": ANALYTICS,
                             "destroy": ANALYTICS, "export": EXPORT}
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return Segment.objects.all()

    def _segment(self, pk) -> Segment:
        return get_or_not_found(Segment, pk, "No such segment.")

    @extend_schema(request=serializers.SegmentInputSerializer, responses={201: serializers.SegmentOutputSerializer})
    def create(self, request):
        data = serializers.SegmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        segment = segment_create(**data.validated_data, actor=actor_from_request(request), tenant=connection.tenant)
        return Response(serializers.SegmentOutputSerializer(segment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.SegmentUpdateInputSerializer, responses=serializers.SegmentOutputSerializer)
    def partial_update(self, request, pk=None):
        data = serializers.SegmentUpdateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        segment = segment_update(segment_id=self._segment(pk).pk, data=dict(data.validated_data),
                                 actor=actor_from_request(request), tenant=connection.tenant)
        return Response(serializers.SegmentOutputSerializer(segment).data)

    def destroy(self, request, pk=None):
        segment_delete(segment_id=self._segment(pk).pk, actor=actor_from_request(request), tenant=connection.tenant)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=serializers.SegmentMemberOutputSerializer(many=True))
    @action(detail=True, methods=["get"], filterset_class=None, ordering=["id"], ordering_fields=["id"])
    def members(self, request, pk=None):
        queryset = self.filter_queryset(selectors.segment_members(segment=self._segment(pk)))
        page = self.paginate_queryset(queryset)
        log_list(request, rows=len(page), resource_type="segment", resource_id=pk, action=Action.SEGMENT_MEMBERS)
        return self.get_paginated_response(serializers.SegmentMemberOutputSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR}, operation_id="analytics_segments_export_csv")
    def export(self, request, pk=None):
        """The segment's members with their personal data, as CSV. Needs the ``export`` capability
        (owners and admins, or a key issued with it); every export is audited with its row count."""
        segment = self._segment(pk)
        return segment_csv_response(segment, request=request)


CSV_COLUMNS = ["customer_id", "email", "first_name", "last_name", "country", "total_orders", "total_spent",
               "last_purchase_at", "rfm_segment", "clv_tier", "total_clv", "churn_probability", "churn_band"]


#: Members per page of an export: each page reads its custom attribute values in one query.
CSV_PAGE = 2000


def _csv_rows(segment, visibility):
    # Custom attributes (customers' active definitions) follow the fixed columns as attribute_<key>.
    keys = [key for key, definition in attribute_definitions().items() if definition.is_active]
    yield CSV_COLUMNS + [f"attribute_{key}" for key in keys]
    members = selectors.segment_members(segment=segment).iterator(chunk_size=CSV_PAGE)
    while page := list(itertools.islice(members, CSV_PAGE)):
        values = attribute_values_for(customer_ids=[c.pk for c in page]) if keys else {}
        for c in page:
            mask_customer(c, visibility)
            # A missing reverse one-to-one raises RelatedObjectDoesNotExist, an AttributeError.
            rfm, clv, churn = (getattr(c, name, None) for name in ("analytics_rfm", "analytics_clv",
                                                                   "analytics_churn"))
            own = values.get(c.pk, {})
            yield [c.pk, c.email or "", c.first_name, c.last_name, c.country, c.total_orders, c.total_spent,
                   c.last_purchase_at.isoformat() if c.last_purchase_at else "", rfm.segment if rfm else "",
                   clv.tier if clv else "", clv.total_clv if clv else "",
                   round(churn.probability, 4) if churn else "", churn.band if churn else "",
                   *(attribute_value_text(own.get(key)) for key in keys)]


def segment_csv_response(segment, *, request, approved: bool = False) -> StreamingHttpResponse:
    """The segment's members as CSV (streamed; shared by the API and the portal), written by
    ``cdp.csv`` (UTF-8 with BOM, formula cells neutralised). The export is audited before the
    first byte goes out (who, which segment, how many rows), so an interrupted download is on
    record too, in the audit trail and the data-access log. E-mails are masked for a reader
    without ``unmask``."""
    actor, visibility = actor_from_request(request), request_visibility(request)
    rows = selectors.segment_members(segment=segment).count()
    if not approved and export_needs_approval(rows=rows, tenant=connection.tenant):
        raise export_approval_refusal(rows=rows)
    log_access(request, action=Action.EXPORT, resource_type="segment", resource_id=segment.pk, rows=rows,
               query={"format": "csv"})
    data_export_record(actor=actor, tenant=connection.tenant, resource_type="segment", resource_id=segment.pk,
                       rows=rows, fmt="csv", details={"name": segment.name})
    response = StreamingHttpResponse(csv_lines(_csv_rows(segment, visibility)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="segment-{segment.pk}.csv"'
    return response
