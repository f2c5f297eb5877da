"""Data-subject rights over the API: pseudonymize (irreversible) and export (access request)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from django.db import connection
from django.utils.translation import gettext as _

from cdp.context import actor_from_request
from cdp.exceptions import PermissionDenied
from customers.api.serializers import CustomerDetailOutputSerializer, CustomerOutputSerializer
from customers.access import Action, log_access, log_list
from customers.masking import request_visibility
from customers.services.inactivity import (
    inactive_customers,
    inactive_customers_pseudonymize,
    inactivity_cutoff,
    inactivity_months,
)
from customers.services.privacy import customer_export, customer_pseudonymize
from tenants.roles import UNMASK, WRITE

CUSTOMER_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The customer.")


class CustomerPseudonymizeInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200,
                                   help_text="Why (e.g. the request's ticket number). No personal data.")


class CustomerExportOutputSerializer(serializers.Serializer):
    """Every column of every row held about the person."""

    format = serializers.CharField()
    generated_at = serializers.DateTimeField()
    customer_id = serializers.IntegerField()
    profile = serializers.DictField()
    identities = serializers.ListField(child=serializers.DictField())
    addresses = serializers.ListField(child=serializers.DictField())
    orders = serializers.ListField(child=serializers.DictField(), help_text="Each with its ``items``.")
    loyalty = serializers.DictField(allow_null=True, help_text="``account`` and ``transactions``.")
    credit = serializers.DictField(allow_null=True, help_text="``account``, ``usages`` and ``payments``.")
    change_log = serializers.ListField(child=serializers.DictField())
    merges = serializers.ListField(child=serializers.DictField())
    merged_customers = serializers.ListField(child=serializers.DictField(),
                                             help_text="The same sections for each record merged into this one.")


class CustomerPrivacyViewSet(viewsets.ViewSet):
    """``pseudonymize`` needs ``write``: the only roles holding it are owner and admin, so it is
    already admin-level for people; API keys need the scope explicitly."""

    required_capabilities = {"pseudonymize": WRITE, "export": UNMASK}

    @extend_schema(request=CustomerPseudonymizeInputSerializer, responses=CustomerDetailOutputSerializer,
                   operation_id="customers_pseudonymize", parameters=[CUSTOMER_ID])
    @action(detail=True, methods=["post"])
    def pseudonymize(self, request, pk=None):
        """Irreversibly replace the person's personal data (profile, identities, addresses, order
        payloads, change-log values); orders and aggregates stay. Calling it again returns the
        same state and writes nothing."""
        data = CustomerPseudonymizeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = customer_pseudonymize(customer_id=pk, actor=actor_from_request(request),
                                         reason=data.validated_data.get("reason", ""))
        return Response(CustomerDetailOutputSerializer(customer, context={"request": request}).data)

    @extend_schema(responses=CustomerExportOutputSerializer, operation_id="customers_export", parameters=[CUSTOMER_ID])
    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        """Everything held about the person, as JSON (data-subject access request). Audited.
        A complete copy cannot be masked, so it needs ``unmask`` and ``sensitive`` (owners and
        admins by default, or a key issued with both)."""
        if not request_visibility(request).is_full:
            raise PermissionDenied(_("A data-subject export needs the unmask and sensitive capabilities."))
        export = customer_export(customer_id=pk, actor=actor_from_request(request))
        log_access(request, action=Action.EXPORT, resource_id=pk, rows=1 + len(export.get("merged_customers", ())),
                   query={"format": "json", "kind": "data-subject"})
        return Response(export)


class InactivityRunInputSerializer(serializers.Serializer):
    months = serializers.IntegerField(required=False, min_value=1, max_value=1200,
                                      help_text="The inactivity period; default the tenant's inactivity_months.")
    dry_run = serializers.BooleanField(required=False, default=False)


class InactivityPreviewView(APIView):
    """The inactivity policy (seed 003): GET previews who would be pseudonymized (masked as the
    reader may see them, at most 100 listed), POST runs it (or a dry run) and answers the report.
    Both need ``write``, like pseudonymizing one customer."""

    required_capabilities = {"get": WRITE, "post": WRITE}

    @extend_schema(parameters=[OpenApiParameter("months", OpenApiTypes.INT, OpenApiParameter.QUERY)],
                   responses=dict, operation_id="privacy_inactive_preview")
    def get(self, request):
        months = inactivity_months(tenant=connection.tenant, months=request.query_params.get("months"))
        candidates = inactive_customers(cutoff=inactivity_cutoff(months))
        listed = list(candidates[:100])
        log_list(request, rows=len(listed))
        return Response({"months": months, "count": candidates.count(),
                         "customers": CustomerOutputSerializer(listed, many=True, context={"request": request}).data})

    @extend_schema(request=InactivityRunInputSerializer, responses=dict, operation_id="privacy_inactive_run")
    def post(self, request):
        data = InactivityRunInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(inactive_customers_pseudonymize(tenant=connection.tenant, actor=actor_from_request(request),
                                                        **data.validated_data))
