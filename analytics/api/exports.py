"""Export approval over the API (``analytics.services.exports``): request, approve or reject,
download while approved and not expired. Everything needs ``export``."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from analytics.api.views import segment_csv_response
from analytics.models import ExportRequest
from analytics.services.exports import (
    export_download_start,
    export_request_approve,
    export_request_create,
    export_request_reject,
)
from cdp.api.viewsets import ReadOnlyViewSet
from cdp.context import actor_from_request
from cdp.ids import MAX_ID
from tenants.roles import EXPORT


class ExportRequestOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExportRequest
        fields = ["id", "segment", "rows", "status", "reason", "requested_by", "decided_by", "decided_at",
                  "decision_note", "expires_at", "downloads", "last_downloaded_at", "created_at"]


class ExportRequestInputSerializer(serializers.Serializer):
    segment = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="The segment to export.")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=255)


class ExportDecisionInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=255)


class ExportRequestViewSet(ReadOnlyViewSet):
    """Bulk exports above the tenant's approval threshold: one person requests, another approves,
    the requester downloads until it expires."""

    required_capabilities = {"list": EXPORT, "retrieve": EXPORT, "create": EXPORT, "approve": EXPORT,
                             "reject": EXPORT, "download": EXPORT}
    serializer_class = ExportRequestOutputSerializer
    ordering = "-created_at"
    ordering_fields = ["created_at", "rows"]
    filterset_fields = ["status", "segment"]
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self):
        return ExportRequest.objects.all()

    @extend_schema(request=ExportRequestInputSerializer, responses={201: ExportRequestOutputSerializer})
    def create(self, request):
        data = ExportRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = export_request_create(segment_id=data.validated_data["segment"], actor=actor_from_request(request),
                                        reason=data.validated_data.get("reason", ""))
        return Response(ExportRequestOutputSerializer(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ExportDecisionInputSerializer, responses=ExportRequestOutputSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        data = ExportDecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decided = export_request_approve(request_id=pk, actor=actor_from_request(request),
                                         note=data.validated_data.get("note", ""))
        return Response(ExportRequestOutputSerializer(decided).data)

    @extend_schema(request=ExportDecisionInputSerializer, responses=ExportRequestOutputSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        data = ExportDecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decided = export_request_reject(request_id=pk, actor=actor_from_request(request),
                                        note=data.validated_data.get("note", ""))
        return Response(ExportRequestOutputSerializer(decided).data)

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR}, operation_id="analytics_exports_download")
    @action(detail=True, methods=["get"], filterset_fields=None)
    def download(self, request, pk=None):
        """The approved export as CSV (the requester only, until it expires); audited and logged."""
        approved = export_download_start(request_id=pk, actor=actor_from_request(request))
        return segment_csv_response(approved.segment, request=request, approved=True)
