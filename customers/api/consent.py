"""Consent over the API: ``GET/PATCH /api/v1/customers/{id}/consents/`` and the change history
``GET /api/v1/customers/{id}/consents/history/``. Reads need ``read``; recording needs ``write``
(owners, admins, keys with that scope)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cdp.api.viewsets import BaseViewSetMixin
from cdp.context import actor_from_request
from cdp.ids import get_or_not_found
from customers.models import ConsentChannel, ConsentPurpose, ConsentSource, Customer
from customers.selectors.consent import consent_history, consent_matrix
from customers.services.consent import consent_record

CUSTOMER_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The customer.")
#: Sources a caller of the API may claim (the unsubscribe link, provider opt-outs and erasure are ours).
API_SOURCES = (ConsentSource.API, ConsentSource.PORTAL, ConsentSource.MEMBER_PAGE, ConsentSource.IMPORT)


class ConsentOutputSerializer(serializers.Serializer):
    channel = serializers.CharField()
    purpose = serializers.CharField()
    granted = serializers.BooleanField(help_text="The answer that applies now.")
    recorded = serializers.BooleanField(help_text="False: nothing recorded, the purpose's default applies "
                                                  "(marketing: no; transactional: yes).")
    source = serializers.CharField()
    text_version = serializers.CharField()
    recorded_at = serializers.DateTimeField(allow_null=True)
    recorded_by = serializers.CharField()


class ConsentRecordInputSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=ConsentChannel.choices)
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    granted = serializers.BooleanField()
    source = serializers.ChoiceField(choices=[(value, value) for value in API_SOURCES], default=ConsentSource.API)
    text_version = serializers.CharField(required=False, allow_blank=True, max_length=50, default="",
                                         help_text="Which wording of the consent the person saw.")
    ip_address = serializers.IPAddressField(required=False, allow_null=True, default=None,
                                            help_text="Where the person gave it (default: the caller's address).")
    user_agent = serializers.CharField(required=False, allow_blank=True, max_length=500, default="",
                                       help_text="The person's browser (default: the caller's).")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")


class ConsentEventOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    channel = serializers.CharField()
    purpose = serializers.CharField()
    granted = serializers.BooleanField()
    previous = serializers.BooleanField(allow_null=True)
    source = serializers.CharField()
    text_version = serializers.CharField()
    ip_address = serializers.CharField(allow_null=True)
    user_agent = serializers.CharField()
    recorded_by = serializers.CharField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class CustomerConsentViewSet(BaseViewSetMixin, viewsets.GenericViewSet):
    """The person's consents per channel and purpose, and their history."""

    ordering = ["-created_at", "-id"]
    ordering_fields = ["created_at", "id"]
    serializer_class = ConsentEventOutputSerializer

    def _customer(self, pk) -> Customer:
        return get_or_not_found(Customer, pk, "Customer not found.")

    @extend_schema(responses=ConsentOutputSerializer(many=True), operation_id="customers_consents_list",
                   parameters=[CUSTOMER_ID])
    @action(detail=True, methods=["get"], url_path="consents")
    def consents(self, request, pk=None):
        """Every channel and purpose with the answer that applies and its proof."""
        customer = self._customer(pk)
        return Response(ConsentOutputSerializer(consent_matrix(customer_id=customer.pk), many=True).data)

    @extend_schema(request=ConsentRecordInputSerializer,
                   responses={200: ConsentOutputSerializer(many=True), 202: ConsentOutputSerializer(many=True)},
                   operation_id="customers_consents_record", parameters=[CUSTOMER_ID])
    @consents.mapping.patch
    def consents_record(self, request, pk=None):
        """Record one answer ``{channel, purpose, granted}`` with its proof; answers the whole matrix
        (202 when the grant waits for the person to confirm it: double opt-in for e-mail)."""
        data = ConsentRecordInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if not fields.get("user_agent"):
            fields["user_agent"] = request.headers.get("User-Agent", "")[:500]
        customer = self._customer(pk)
        recorded = consent_record(customer_id=customer.pk, actor=actor_from_request(request), **fields)
        # None: the grant waits for the person's confirmation (double opt-in); 202, nothing changed yet.
        return Response(ConsentOutputSerializer(consent_matrix(customer_id=customer.pk), many=True).data,
                        status=status.HTTP_200_OK if recorded is not None else status.HTTP_202_ACCEPTED)

    @extend_schema(responses=ConsentEventOutputSerializer(many=True), operation_id="customers_consents_history",
                   parameters=[CUSTOMER_ID], filters=False)
    @action(detail=True, methods=["get"], url_path="consents/history", filter_backends=[])
    def consents_history(self, request, pk=None):
        """Every recorded change, newest first, with who recorded it, the source and the proof."""
        customer = self._customer(pk)
        page = self.paginate_queryset(consent_history(customer_id=customer.pk))
        return self.get_paginated_response(ConsentEventOutputSerializer(page, many=True).data)
