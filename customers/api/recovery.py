"""Recovery over the API: revert one logged change, or everything a source changed since a date
(``customers.services.recovery``). Both need ``write``; both are change-logged and audited."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cdp.context import actor_from_request
from cdp.ids import ID_PATTERN
from customers.api.serializers import CustomerDetailOutputSerializer
from customers.services.recovery import change_revert, source_changes_revert
from tenants.roles import WRITE


class ChangeRevertInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200)


class SourceRevertInputSerializer(serializers.Serializer):
    source = serializers.CharField(max_length=50, help_text="The source whose changes to undo (vtex, csv, api…).")
    since = serializers.DateTimeField(help_text="Changes made at or after this moment (ISO 8601).")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200)
    dry_run = serializers.BooleanField(required=False, default=False,
                                       help_text="Report what would be reverted without writing.")


class SourceRevertOutputSerializer(serializers.Serializer):
    source = serializers.CharField()
    since = serializers.DateTimeField()
    dry_run = serializers.BooleanField()
    reverted = serializers.IntegerField()
    skipped = serializers.IntegerField()
    changes = serializers.ListField(child=serializers.DictField())
    skipped_changes = serializers.ListField(child=serializers.DictField(),
                                            help_text="Each with the code and message of why it was left alone.")


class ChangeRecoveryViewSet(viewsets.ViewSet):
    """``POST changes/{id}/revert/`` and ``POST changes/revert-source/``."""

    required_capabilities = {"revert": WRITE, "revert_source": WRITE}
    lookup_value_regex = ID_PATTERN

    @extend_schema(request=ChangeRevertInputSerializer, responses=CustomerDetailOutputSerializer,
                   operation_id="changes_revert")
    @action(detail=True, methods=["post"])
    def revert(self, request, pk=None):
        """Put back the value this change replaced (409 if superseded or the customer was
        pseudonymized; 400 if the previous value was empty)."""
        data = ChangeRevertInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = change_revert(change_id=pk, actor=actor_from_request(request),
                                 reason=data.validated_data.get("reason", ""))
        return Response(CustomerDetailOutputSerializer(customer, context={"request": request}).data)

    @extend_schema(request=SourceRevertInputSerializer, responses=SourceRevertOutputSerializer,
                   operation_id="changes_revert_source")
    @action(detail=False, methods=["post"], url_path="revert-source")
    def revert_source(self, request):
        """Undo everything one source changed since a date; each field reverted or skipped with why."""
        data = SourceRevertInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = source_changes_revert(actor=actor_from_request(request), **data.validated_data)
        return Response(report.as_dict())
