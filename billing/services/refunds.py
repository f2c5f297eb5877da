"""Refunds of paid orders: the money back through the order's gateway, a credit note, and (in
full) what the order granted taken back."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from billing.codes import AuditAction, ErrorCode
from billing.gateways import gateway_for
from billing.models import Invoice, Order
from billing.money import q2
from billing.services.entitlements import order_refund_entitlements_revoke
from billing.services.invoices import credit_note_issue
from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict
from tenants.services import audit_record


def order_refund(*, order: Order, actor: Actor, amount: Decimal | None = None, reason: str = "",
                 now: datetime.datetime | None = None) -> Invoice:
    """Refund (part of) a paid order through its gateway and issue a credit note for it.
    A full refund also cancels the licenses the order issued and its subscription."""
    now = now or timezone.now()
    order = Order.objects.select_related("gateway", "tenant").get(pk=order.pk)
    if order.status not in (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED):
        raise Conflict(f"Only a paid order can be refunded; {order.order_number} is {order.status}.",
                       code=ErrorCode.ORDER_NOT_REFUNDABLE)
    refundable = order.total - order.refunded_amount
    amount = q2(amount) if amount is not None else refundable
    if amount <= 0 or amount > refundable:
        raise ApplicationError(f"The refund is more than 0 and at most {refundable}.",
                               code=ErrorCode.REFUND_AMOUNT_INVALID, fields={"amount": [f"At most {refundable}."]})
    credit_no = order.invoices.filter(kind=Invoice.Kind.CREDIT_NOTE).count() + 1
    if order.gateway_id and order.gateway_transaction_id and amount > 0:
        result = gateway_for(order.gateway).refund(transaction_id=order.gateway_transaction_id, amount=amount,
                                                   idempotency_key=f"{order.order_number}-r{credit_no}")
        if result.status != "succeeded":
            raise ApplicationError(f"The gateway refused the refund: {result.message}", code=ErrorCode.REFUND_FAILED)
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if amount > locked.total - locked.refunded_amount:
            raise Conflict("The order was refunded meanwhile.", code=ErrorCode.ORDER_NOT_REFUNDABLE)
        note = credit_note_issue(order=locked, amount=amount, reason=reason, now=now)
        locked.refunded_amount += amount
        full = locked.refunded_amount == locked.total
        locked.status = Order.Status.REFUNDED if full else Order.Status.PARTIALLY_REFUNDED
        locked.save(update_fields=["refunded_amount", "status", "updated_at"])
        if full:
            order_refund_entitlements_revoke(order=locked, actor=actor, now=now)
        audit_record(actor=actor, action=AuditAction.ORDER_REFUND, resource_type="billing_order",
                     resource_id=locked.pk, tenant=locked.tenant,
                     changes={"amount": amount, "credit_note": note.number, "reason": reason})
    return note
