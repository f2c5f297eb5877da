"""Billing API on a tenant's host: the caller's tenant is the buyer. Owners only (``billing``),
except the catalog (any member). Refunds are for platform staff."""

from __future__ import annotations

import hashlib
import hmac
import json

from django.db import connection
from django.http import HttpResponse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from billing import conf
from billing.api import serializers as s
from billing.codes import ErrorCode
from billing.models import Invoice, Order, PaymentAttempt, PaymentMethod, Product
from billing.pdf import invoice_pdf
from billing.selectors import order_list, product_list
from billing.services import (
    PaymentDeclined,
    PaymentReversed,
    idempotent_run,
    order_checkout,
    order_payment_retry,
    order_refund,
    payment_callback_apply,
    payment_method_add,
    payment_method_delete,
)
from billing.services.idempotency import idempotency_key_clean, idempotency_principal
from cdp.api.errors import error_body
from cdp.api.viewsets import BaseViewSetMixin, ReadOnlyViewSet, TenantScopedViewSetMixin
from cdp.context import Actor, actor_from_request
from cdp.exceptions import ApplicationError, NotFound, PermissionDenied
from tenants.roles import BILLING

# Products, orders and invoices are found by their SKU or number, not by an id (DRF's default pattern).
NATURAL_KEY_PATTERN = r"[^/.]+"


class ProductFilter(filters.FilterSet):
    category = filters.CharFilter(field_name="category__slug")
    is_subscription = filters.BooleanFilter(method="filter_subscription")

    class Meta:
        model = Product
        fields = ["interval", "is_featured", "is_popular", "plan_code"]

    def filter_subscription(self, queryset, name, value):
        return queryset.exclude(interval="one_time") if value else queryset.filter(interval="one_time")


class ProductViewSet(ReadOnlyViewSet):
    """The catalog with computed ratings."""

    serializer_class = s.BillingProductOutputSerializer
    lookup_field = "sku"
    lookup_value_regex = NATURAL_KEY_PATTERN
    ordering = ("name", "id")
    ordering_fields = ["name", "price", "created_at"]
    filterset_class = ProductFilter
    search_fields = ["sku", "name", "description"]

    def get_queryset(self):
        return product_list().order_by(*self.ordering)


def _order_data(order: Order) -> dict:
    return s.BillingOrderOutputSerializer(order_list(tenant=order.tenant).get(pk=order.pk)).data


def _declined_body(exc: PaymentDeclined) -> dict:
    body = error_body(exc.code, exc.message, {"payment": [exc.message]})
    body["decline_code"] = exc.decline_code  # beside the common error shape, which stays exact
    if exc.order is not None:
        body["order"] = _order_data(exc.order)
    return body


def _declined_response(exc: PaymentDeclined) -> Response:
    return Response(_declined_body(exc), status=status.HTTP_402_PAYMENT_REQUIRED)


def _reversed_body(exc: PaymentReversed) -> dict:
    body = error_body(exc.code, exc.message)
    if exc.order is not None:
        body["order"] = _order_data(exc.order)
    return body


def _order_answer(result, http_status=None) -> tuple[int, dict]:
    order = order_list(tenant=result.order.tenant).get(pk=result.order.pk)
    data = s.BillingCheckoutOutputSerializer(order, context={"licenses": [
        {"plan": k.plan, "key": k.key, "expires_at": k.expires_at} for k in result.licenses]}).data
    return http_status or (status.HTTP_202_ACCEPTED if result.pending else status.HTTP_201_CREATED), data


def _order_response(result, http_status=None) -> Response:
    code, data = _order_answer(result, http_status)
    return Response(data, status=code)


def checkout_recover(order: Order) -> tuple[int, dict] | None:
    """The answer for a checkout whose request ended without one (crash, gateway timeout), from
    what its order became; None while its payment is still being confirmed. License keys issued
    then were never shown and are not recoverable here (they exist only as hashes)."""
    order = Order.objects.get(pk=order.pk)
    data = _order_data(order)
    if order.paid_at is not None:
        return status.HTTP_201_CREATED, {**data, "licenses": []}
    if order.status == Order.Status.PAYMENT_FAILED:
        body = error_body(ErrorCode.PAYMENT_DECLINED, "The payment was declined.", {"payment": ["The payment failed."]})
        return status.HTTP_402_PAYMENT_REQUIRED, {**body, "decline_code": "", "order": data}
    if order.status == Order.Status.PENDING:
        waiting = order.attempts.filter(status=PaymentAttempt.Status.PENDING).exclude(transaction_id="").exists()
        return (status.HTTP_202_ACCEPTED, {**data, "licenses": []}) if waiting else None
    message = f"{order.failure_reason or 'The order could not be completed.'} The charge was refunded."
    return status.HTTP_409_CONFLICT, {**error_body(ErrorCode.PAYMENT_REFUNDED, message), "order": data}


IDEMPOTENCY_PARAMETERS = [
    OpenApiParameter(
        "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
        description="A unique key per purchase (a UUID v4), 1-255 visible ASCII characters. Send the same key to "
                    "retry safely: the purchase is made at most once, and a retry with the same body gets the first "
                    "answer again (same status and body, header `Idempotent-Replayed: true`). The same key with "
                    "another body gets 409 `idempotency_key_reused`; while the first request still runs, 409 "
                    "`idempotency_in_progress` (after a short wait). Keys are scoped to the tenant and the caller "
                    "(user or API key) and kept at least 24 hours. Without a key, every request is a new purchase."),
    OpenApiParameter("Idempotent-Replayed", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[201, 202, 402, 409],
                     description="`true` when this is the answer kept for the Idempotency-Key, not a new purchase."),
]


class CheckoutView(APIView):
    """Buy products: 201 paid (invoice, licenses with keys shown once), 202 waiting for the
    customer (3-D Secure), 402 declined (the order is kept as ``payment_failed``), 409 when the
    purchase conflicts (a subscription exists or is being paid, an Idempotency-Key in use or reused,
    or a charge that could not be kept and was refunded), 502 when the gateway did not answer (the
    order stays pending and is completed or refunded automatically once the gateway confirms)."""

    required_capabilities = {"post": BILLING}

    @extend_schema(operation_id="billing_checkout", request=s.BillingCheckoutInputSerializer,
                   parameters=IDEMPOTENCY_PARAMETERS,
                   responses={201: s.BillingCheckoutOutputSerializer, 202: s.BillingCheckoutOutputSerializer,
                              402: OpenApiResponse(description="payment_declined; body includes the order"),
                              409: OpenApiResponse(description=(
                                  "subscription_exists, checkout_in_progress (another subscription checkout is "
                                  "being paid), idempotency_in_progress, idempotency_key_reused, or "
                                  "payment_refunded (charged, not completed, refunded; body includes the order)")),
                              502: OpenApiResponse(description="gateway_unavailable")})
    def post(self, request):
        key = idempotency_key_clean(request.headers.get("Idempotency-Key"))
        data = s.BillingCheckoutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        actor = actor_from_request(request)

        def execute(record_id: int | None) -> tuple[int, dict]:
            try:
                result = order_checkout(
                    tenant=connection.tenant, items=[dict(i) for i in v["items"]],
                    coupon_code=v.get("coupon") or None, gateway_code=v["payment"]["gateway"],
                    token=v["payment"]["token"], actor=actor,
                    billing_address=dict(v["billing_address"]) if v.get("billing_address") else None,
                    save_payment_method=v["payment"]["save"], idempotency_record_id=record_id)
            except PaymentDeclined as exc:
                return status.HTTP_402_PAYMENT_REQUIRED, _declined_body(exc)
            except PaymentReversed as exc:
                return exc.http_status, _reversed_body(exc)
            except ApplicationError as exc:
                return exc.http_status, error_body(exc.code, exc.message, exc.fields)
            return _order_answer(result)

        answer = idempotent_run(tenant=connection.tenant, principal=idempotency_principal(actor),
                                operation="checkout", key=key, params=v, execute=execute, recover=checkout_recover)
        response = Response(answer.body, status=answer.status)
        if key is not None:
            response["Idempotency-Key"] = key
        if answer.replayed:
            response["Idempotent-Replayed"] = "true"
        return response


class OrderViewSet(TenantScopedViewSetMixin, ReadOnlyViewSet):
    """The tenant's orders; ``retry`` pays a failed one again; ``refund`` is for platform staff."""

    serializer_class = s.BillingOrderOutputSerializer
    queryset = Order.objects.select_related("coupon").prefetch_related("items", "invoices")
    lookup_field = "order_number"
    lookup_value_regex = NATURAL_KEY_PATTERN
    ordering = ("-created_at", "-id")
    ordering_fields = ["created_at", "total"]
    filterset_fields = ["status", "kind"]
    search_fields = ["order_number"]
    required_capabilities = {"list": BILLING, "retrieve": BILLING, "retry": BILLING, "refund": BILLING}

    @extend_schema(operation_id="billing_order_retry", request=s.BillingRetryInputSerializer,
                   responses={201: s.BillingCheckoutOutputSerializer, 402: OpenApiResponse(description="declined")})
    @action(detail=True, methods=["post"])
    def retry(self, request, order_number=None):
        order = self.get_object()
        data = s.BillingRetryInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            result = order_payment_retry(order=order, actor=actor_from_request(request),
                                         gateway_code=data.validated_data.get("gateway"),
                                         token=data.validated_data.get("token"))
        except PaymentDeclined as exc:
            return _declined_response(exc)
        return _order_response(result)

    @extend_schema(operation_id="billing_order_refund", request=s.BillingRefundInputSerializer,
                   responses={201: s.BillingInvoiceOutputSerializer})
    @action(detail=True, methods=["post"])
    def refund(self, request, order_number=None):
        if not (request.user.is_authenticated and request.user.is_superuser):
            raise PermissionDenied("Refunds are made by platform staff.")
        order = self.get_object()
        data = s.BillingRefundInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = order_refund(order=order, actor=actor_from_request(request),
                            amount=data.validated_data.get("amount"), reason=data.validated_data["reason"])
        return Response(s.BillingInvoiceOutputSerializer(note).data, status=status.HTTP_201_CREATED)


class InvoiceViewSet(TenantScopedViewSetMixin, ReadOnlyViewSet):
    """Invoices and credit notes of the tenant, with their PDF."""

    serializer_class = s.BillingInvoiceOutputSerializer
    queryset = Invoice.objects.select_related("order")
    lookup_field = "number"
    lookup_value_regex = NATURAL_KEY_PATTERN
    ordering = ("-issued_at", "-id")
    ordering_fields = ["issued_at", "total", "number"]
    filterset_fields = ["kind"]
    search_fields = ["number", "order__order_number"]
    required_capabilities = {"list": BILLING, "retrieve": BILLING, "pdf": BILLING}

    @extend_schema(operation_id="billing_invoice_pdf", responses={(200, "application/pdf"): bytes})
    @action(detail=True, methods=["get"], url_path="pdf")
    def pdf(self, request, number=None):
        invoice = self.get_object()
        response = HttpResponse(invoice_pdf(invoice=invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
        return response


class PaymentMethodViewSet(TenantScopedViewSetMixin, BaseViewSetMixin, mixins.ListModelMixin,
                           mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Saved cards (brand, last 4, expiry). ``POST`` a gateway token to save one as the default."""

    serializer_class = s.BillingPaymentMethodOutputSerializer
    queryset = PaymentMethod.objects.select_related("gateway")
    ordering = ("-is_default", "-created_at", "-id")
    ordering_fields = ["created_at", "is_default"]
    required_capabilities = {"list": BILLING, "create": BILLING, "destroy": BILLING}

    @extend_schema(request=s.BillingPaymentMethodInputSerializer,
                   responses={201: s.BillingPaymentMethodOutputSerializer})
    def create(self, request):
        data = s.BillingPaymentMethodInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        method = payment_method_add(tenant=connection.tenant, gateway_code=data.validated_data["gateway"],
                                    token=data.validated_data["token"], actor=actor_from_request(request))
        return Response(s.BillingPaymentMethodOutputSerializer(method).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, pk=None):
        payment_method_delete(tenant=connection.tenant, payment_method_id=self.kwargs["pk"],
                              actor=actor_from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


def callback_signature(body: bytes) -> str:
    return hmac.new(conf.callback_secret(), body, hashlib.sha256).hexdigest()


class PaymentCallbackView(APIView):
    """Public host: a gateway reports an asynchronous payment result. Signed with HMAC-SHA256
    (``X-CDP-Signature``); redelivered events are acknowledged and change nothing."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    @extend_schema(operation_id="billing_payment_callback", request=None,
                   responses={200: OpenApiResponse(description='{"result": "applied|duplicate|ignored"}')}, auth=[])
    def post(self, request, gateway):
        body = request.body
        # The header is text from an unauthenticated stranger: anything not ASCII cannot be our hex.
        given = request.headers.get("X-CDP-Signature", "")
        if not given.isascii() or not hmac.compare_digest(callback_signature(body), given):
            return Response(error_body(ErrorCode.SIGNATURE_INVALID, "The signature does not match."), status=400)
        try:
            event = json.loads(body)
            event_id, kind = _event_text(event["id"], 255), _event_text(event["type"], 64)
            obj = event["data"]["object"]
            transaction_id = _event_text(obj["id"], 255)
            metadata = obj.get("metadata") or {}
            idempotency_key = _event_text(metadata.get("cdp_idempotency_key", ""), 255, allow_empty=True)
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return Response(error_body(ApplicationError.code, "Expected a gateway event."), status=400)
        try:
            result = payment_callback_apply(gateway_code=gateway, event_id=event_id, kind=kind,
                                            transaction_id=transaction_id, idempotency_key=idempotency_key,
                                            actor=Actor.system(f"gateway:{gateway}"))
        except NotFound:
            return Response(error_body(NotFound.code, "Unknown gateway."), status=404)
        return Response({"result": result})


def _event_text(value, max_length: int, *, allow_empty: bool = False) -> str:
    """A field of a gateway event as text that fits its column (ValueError otherwise)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("not text")
    text = str(value)
    if (not text and not allow_empty) or len(text) > max_length or not text.isprintable():
        raise ValueError("unusable text")
    return text
