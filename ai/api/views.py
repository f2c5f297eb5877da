"""The tenant's AI tasks and the marketer's AI features, on the tenant's host under ``api/v1/ai/``.

Requests never call a provider: a feature queues a task (202) that a worker runs; the client
polls ``GET /api/v1/ai/tasks/{id}/``."""

from __future__ import annotations

import django_filters
from django.db import connection
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from ai.api import serializers
from ai.models import ProcessedTask
from ai.services.features import message_draft_request
from cdp.api.viewsets import ReadOnlyViewSet, TenantScopedViewSetMixin
from cdp.context import actor_from_request
from tenants.roles import ANALYTICS, WRITE


class ProcessedTaskFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ProcessedTask.Status.choices)
    feature = django_filters.CharFilter()
    provider = django_filters.CharFilter(field_name="provider_name")

    class Meta:
        model = ProcessedTask
        fields = ["status", "feature", "provider"]


class ProcessedTaskViewSet(TenantScopedViewSetMixin, ReadOnlyViewSet):
    """The organization's AI tasks: provider, model, tokens, cost (USD), latency and status.
    Needs ``analytics`` (what AI costs is a business figure, not every viewer's)."""

    serializer_class = serializers.ProcessedTaskOutputSerializer
    queryset = ProcessedTask.objects.all()  # narrowed to the request's tenant by the mixin
    filterset_class = ProcessedTaskFilter
    required_capabilities = {"list": ANALYTICS, "retrieve": ANALYTICS}
    ordering = ["-created_at", "-id"]
    ordering_fields = ["id", "created_at", "cost_usd", "latency_ms"]
    search_fields = []


class MessageDraftView(APIView):
    """Draft a message (``{"subject", "body"}``) for a segment and channel in the tenant's language.
    Queued: answers 202 with the task; its ``output`` appears once the worker is done."""

    required_capabilities = {"post": WRITE}

    @extend_schema(request=serializers.MessageDraftInputSerializer,
                   responses={202: serializers.ProcessedTaskOutputSerializer})
    def post(self, request):
        data = serializers.MessageDraftInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = connection.tenant
        values = dict(data.validated_data)
        values["language"] = values.get("language") or (tenant.setting("language") or "en")[:2]
        task = message_draft_request(tenant=tenant, actor=actor_from_request(request), **values)
        return Response(serializers.ProcessedTaskOutputSerializer(task).data, status=status.HTTP_202_ACCEPTED)
