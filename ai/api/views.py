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
from ai.selectors import segment_draft_read
from ai.services.customer_summaries import customer_summary_request
from ai.services.features import LANGUAGES, message_draft_request
from ai.services.segment_drafts import segment_draft_confirm, segment_draft_request
from cdp.api.viewsets import ReadOnlyViewSet, TenantScopedViewSetMixin
from cdp.context import actor_from_request
from tenants.roles import ANALYTICS, WRITE


def _language(tenant, given):
    """What the client gave, else the tenant's language when a feature speaks it, else English."""
    default = (tenant.setting("language") or "en")[:2]
    return given or (default if default in LANGUAGES else "en")


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
        values["language"] = _language(tenant, values.get("language"))
        task = message_draft_request(tenant=tenant, actor=actor_from_request(request), **values)
        return Response(serializers.ProcessedTaskOutputSerializer(task).data, status=status.HTTP_202_ACCEPTED)


def _draft_data(draft) -> dict:
    return serializers.SegmentDraftOutputSerializer({"task": draft.task, "rules": draft.rules, "sentence": draft.sentence,
                                                     "preview_count": draft.preview_count}).data


class SegmentDraftView(APIView):
    """Segment from a sentence: ``{"text", "language"}`` queues a task (202) that asks the AI mesh
    for segment rules; poll ``GET segment-draft/{task_id}/`` for the validated ``rules``, the rules
    as a ``sentence`` and the ``preview_count`` of customers matching them now, then save them with
    ``POST segment-draft/{task_id}/confirm/``. Needs ``analytics`` (as editing segments does)."""

    required_capabilities = {"post": ANALYTICS}

    @extend_schema(request=serializers.SegmentDraftInputSerializer,
                   responses={202: serializers.SegmentDraftOutputSerializer}, operation_id="ai_segment_draft_create")
    def post(self, request):
        data = serializers.SegmentDraftInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = connection.tenant
        task = segment_draft_request(tenant=tenant, actor=actor_from_request(request), text=data.validated_data["text"],
                                     language=_language(tenant, data.validated_data.get("language")))
        return Response(_draft_data(segment_draft_read(tenant=tenant, task_id=task.pk)),
                        status=status.HTTP_202_ACCEPTED)


class SegmentDraftDetailView(APIView):
    """A segment draft: its task and, once it succeeded, the rules, the sentence and the live count."""

    required_capabilities = {"get": ANALYTICS}

    @extend_schema(responses={200: serializers.SegmentDraftOutputSerializer}, operation_id="ai_segment_draft_retrieve")
    def get(self, request, task_id: int):
        return Response(_draft_data(segment_draft_read(tenant=connection.tenant, task_id=task_id)))


class SegmentDraftConfirmView(APIView):
    """Save a finished draft's rules as a segment (``{"name", "description"}``): 201 with the
    segment; 409 ``ai_draft_not_ready`` before the draft succeeded, ``ai_draft_already_saved`` the
    second time, ``segment_exists`` for a name taken."""

    required_capabilities = {"post": ANALYTICS}

    @extend_schema(request=serializers.SegmentDraftConfirmInputSerializer,
                   responses={201: serializers.SegmentSavedOutputSerializer}, operation_id="ai_segment_draft_confirm")
    def post(self, request, task_id: int):
        data = serializers.SegmentDraftConfirmInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        segment = segment_draft_confirm(tenant=connection.tenant, actor=actor_from_request(request), task_id=task_id,
                                        **data.validated_data)
        return Response(serializers.SegmentSavedOutputSerializer(segment).data, status=status.HTTP_201_CREATED)


class CustomerSummaryView(APIView):
    """Ask for the AI summary of a customer (shown in the Customer 360 under
    ``sections.ai_summary``): 202 with a new queued task, or 200 with the task that already
    describes the customer as they are now (cached: nothing is called or metered again). Built
    from non-identifying facts only (no name, contact, document or address)."""

    required_capabilities = {"post": ANALYTICS}

    @extend_schema(request=serializers.CustomerSummaryInputSerializer,
                   responses={200: serializers.ProcessedTaskOutputSerializer,
                              202: serializers.ProcessedTaskOutputSerializer})
    def post(self, request):
        data = serializers.CustomerSummaryInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task, created = customer_summary_request(tenant=connection.tenant, actor=actor_from_request(request),
                                                 customer_id=data.validated_data["customer_id"])
        return Response(serializers.ProcessedTaskOutputSerializer(task).data,
                        status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)
