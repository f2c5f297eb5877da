"""B2B credit API: a customer's credit account and its request; staff approval, rejection,
suspension and reinstatement; usage against orders and payments. Input serializers validate,
services write."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cdp.api.viewsets import BaseViewSetMixin
from cdp.context import actor_from_request
from cdp.ids import ID_PATTERN, MAX_ID
from customers.filters.credit import CreditAccountFilter, CreditPaymentFilter, CreditUsageFilter
from customers.models import CreditAccount, CreditPayment, CreditUsage
from customers.selectors import credit as selectors
from customers.services import credit as services
from tenants.roles import CREDIT

#: Approving, rejecting, suspending and reinstating credit are staff decisions, guarded by their own
#: capability ``credit`` (owners and admins; viewers and analysts do not hold it, nor do API keys
#: unless issued with it: a connector's ``integrations`` key cannot approve credit).
STAFF_CAPABILITY = CREDIT
MONEY = {"max_digits": 15, "decimal_places": 2}


# --- serializers --------------------------------------------------------------------------------

class CreditAccountOutputSerializer(serializers.ModelSerializer):
    credit_available = serializers.DecimalField(read_only=True, **MONEY)

    class Meta:
        model = CreditAccount
        fields = ["id", "customer", "status", "credit_limit", "credit_used", "credit_available", "currency",
                  "payment_term_days", "requested_limit", "approval_note", "approved_at", "approved_by",
                  "suspended_at", "suspension_reason", "created_at", "updated_at"]


class CreditUsageOutputSerializer(serializers.ModelSerializer):
    outstanding = serializers.SerializerMethodField()

    class Meta:
        model = CreditUsage
        fields = ["id", "account", "order", "amount", "amount_paid", "outstanding", "due_date", "status", "paid_at",
                  "created_by", "created_at"]

    def get_outstanding(self, usage) -> str:
        return str(usage.amount - usage.amount_paid)


class CreditPaymentOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = CreditPayment
        fields = ["id", "account", "usage", "amount", "paid_at", "reference", "note", "created_by", "created_at"]


class CreditRequestInputSerializer(serializers.Serializer):
    requested_limit = serializers.DecimalField(min_value=0, **MONEY)
    payment_term_days = serializers.IntegerField(min_value=1, max_value=365, default=30)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False, allow_blank=True, default="")
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class CreditApproveInputSerializer(serializers.Serializer):
    credit_limit = serializers.DecimalField(min_value=0, **MONEY)
    note = serializers.CharField(max_length=2000)
    payment_term_days = serializers.IntegerField(min_value=1, max_value=365, required=False, allow_null=True,
                                                 default=None)


class CreditNoteInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000)


class CreditUsageCreateInputSerializer(serializers.Serializer):
    order_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    amount = serializers.DecimalField(min_value=0, required=False, allow_null=True, default=None, **MONEY,
                                      help_text="Default: the order's total.")


class CreditPaymentCreateInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(min_value=0, **MONEY)
    usage_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True, default=None,
                                        help_text="Pay this usage; default: the oldest due first.")
    reference = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")
    paid_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


# --- views --------------------------------------------------------------------------------------

class CustomerCreditViewSet(viewsets.GenericViewSet):
    """A customer's credit account (404 when none) and the request that opens one
    (``customers/{customer_id}/credit/``)."""

    serializer_class = CreditAccountOutputSerializer
    pagination_class = None
    filter_backends: list = []
    lookup_url_kwarg = "customer_id"
    lookup_value_regex = ID_PATTERN

    @extend_schema(responses=CreditAccountOutputSerializer, operation_id="customers_credit_retrieve")
    @action(detail=True, methods=["get"], url_path="credit")
    def account(self, request, customer_id=None):
        return Response(CreditAccountOutputSerializer(
            selectors.credit_account_for_customer(customer_id=customer_id)).data)

    @extend_schema(request=CreditRequestInputSerializer, responses={201: CreditAccountOutputSerializer},
                   operation_id="customers_credit_request")
    @account.mapping.post
    def credit_request(self, request, customer_id=None):
        data = CreditRequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        account = services.credit_account_request(customer_id=customer_id, actor=actor_from_request(request),
                                                  **data.validated_data)
        return Response(CreditAccountOutputSerializer(account).data, status=status.HTTP_201_CREATED)


class CreditAccountViewSet(BaseViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                           viewsets.GenericViewSet):
    """Credit accounts: list and detail; staff approve, reject, suspend and reinstate them; usages
    against orders and payments are recorded under each account."""

    serializer_class = CreditAccountOutputSerializer
    filterset_class = CreditAccountFilter
    ordering = ["-created_at", "-id"]
    ordering_fields = ["created_at", "credit_limit", "credit_used", "id"]
    search_fields: list[str] = []
    required_capabilities = {"approve": STAFF_CAPABILITY, "reject": STAFF_CAPABILITY, "suspend": STAFF_CAPABILITY,
                             "reinstate": STAFF_CAPABILITY}

    def get_queryset(self):
        return selectors.credit_account_list()

    def retrieve(self, request, pk=None):
        return Response(CreditAccountOutputSerializer(selectors.credit_account_get(account_id=pk)).data)

    def _staff(self, request, pk, service, input_serializer):
        data = input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        account = service(account_id=pk, actor=actor_from_request(request), **data.validated_data)
        return Response(CreditAccountOutputSerializer(account).data)

    @extend_schema(request=CreditApproveInputSerializer, responses=CreditAccountOutputSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._staff(request, pk, services.credit_account_approve, CreditApproveInputSerializer)

    @extend_schema(request=CreditNoteInputSerializer, responses=CreditAccountOutputSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Turn down a request (only requested accounts: 409 ``credit_account_not_requested``)."""
        return self._staff(request, pk, services.credit_account_reject, CreditNoteInputSerializer)

    @extend_schema(request=CreditNoteInputSerializer, responses=CreditAccountOutputSerializer)
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        return self._staff(request, pk, services.credit_account_suspend, CreditNoteInputSerializer)

    @extend_schema(request=CreditNoteInputSerializer, responses=CreditAccountOutputSerializer)
    @action(detail=True, methods=["post"])
    def reinstate(self, request, pk=None):
        return self._staff(request, pk, services.credit_account_reinstate, CreditNoteInputSerializer)


class _AccountChildViewSet(BaseViewSetMixin, viewsets.GenericViewSet):
    """Lists and writes under one credit account (registered at ``credit/{pk}/<what>``)."""

    search_fields: list[str] = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no account
            return self.serializer_class.Meta.model.objects.none()
        return self.account_queryset(account_id=self.kwargs["pk"])

    def list(self, request, pk=None):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.serializer_class(page, many=True).data)


class CreditUsageViewSet(_AccountChildViewSet):
    """Usage of an account's credit against its customer's orders, soonest due first."""

    serializer_class = CreditUsageOutputSerializer
    filterset_class = CreditUsageFilter
    ordering = ["due_date", "id"]
    ordering_fields = ["due_date", "amount", "created_at", "id"]
    account_queryset = staticmethod(selectors.credit_usages)

    @extend_schema(request=CreditUsageCreateInputSerializer, responses={201: CreditUsageOutputSerializer})
    def create(self, request, pk=None):
        selectors.credit_account_get(account_id=pk)
        data = CreditUsageCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        usage = services.credit_usage_record(account_id=pk, actor=actor_from_request(request),
                                             **data.validated_data)
        return Response(CreditUsageOutputSerializer(usage).data, status=status.HTTP_201_CREATED)


class CreditPaymentViewSet(_AccountChildViewSet):
    """Payments received on an account, newest first."""

    serializer_class = CreditPaymentOutputSerializer
    filterset_class = CreditPaymentFilter
    ordering = ["-paid_at", "-id"]
    ordering_fields = ["paid_at", "amount", "created_at", "id"]
    account_queryset = staticmethod(selectors.credit_payments)

    @extend_schema(request=CreditPaymentCreateInputSerializer,
                   responses={201: CreditPaymentOutputSerializer(many=True)})
    def create(self, request, pk=None):
        selectors.credit_account_get(account_id=pk)
        data = CreditPaymentCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payments = services.credit_payment_record(account_id=pk, actor=actor_from_request(request),
                                                  **data.validated_data)
        return Response(CreditPaymentOutputSerializer(payments, many=True).data, status=status.HTTP_201_CREATED)
