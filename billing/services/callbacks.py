"""Gateways' asynchronous results (3-D Secure completed or failed), delivered to the callback
endpoint: applied once per event, whatever the redeliveries."""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.codes import AttemptCode
from billing.models import GatewayEvent, Order, PaymentAttempt, PaymentGateway
from billing.services.payments import payment_attempt_fail, payment_settle, renewal_advance
from cdp.context import Actor
from cdp.exceptions import NotFound


def payment_callback_apply(*, gateway_code: str, event_id: str, kind: str, transaction_id: str, actor: Actor,
                           now: datetime.datetime | None = None, idempotency_key: str = "") -> str:
    """Apply a gateway's asynchronous result (``payment_intent.succeeded`` / ``.payment_failed``).

    Redelivery is normal: an event id seen before, or an order already settled, changes nothing. A
    success for an order that cannot take it any more (failed meanwhile and not payable, or paid by
    another charge) refunds that charge. Returns ``applied``, ``duplicate`` or ``ignored``."""
    now = now or timezone.now()
    gateway = PaymentGateway.objects.filter(code=gateway_code).first()
    if gateway is None:
        raise NotFound("Unknown gateway.")
    if GatewayEvent.objects.filter(gateway=gateway, event_id=event_id).exists():
        return "duplicate"
    attempts = PaymentAttempt.objects.filter(gateway=gateway).select_related("order").order_by("-id")
    attempt = attempts.filter(transaction_id=transaction_id).first() if transaction_id else None
    if attempt is None and idempotency_key:
        attempt = attempts.filter(idempotency_key=idempotency_key).first()
    outcome = "ignored"
    if attempt is not None and kind == "payment_intent.succeeded":
        settled = payment_settle(attempt_id=attempt.pk, transaction_id=transaction_id, actor=actor, now=now)
        if settled.outcome == "completed":
            outcome = "applied"
            renewal_advance(settled, actor=actor, now=now)
        elif settled.outcome != "already":
            outcome = "applied"
    elif attempt is not None and kind == "payment_intent.payment_failed":
        if attempt.status == PaymentAttempt.Status.PENDING and attempt.order.status == Order.Status.PENDING:
            payment_attempt_fail(attempt_id=attempt.pk, status=PaymentAttempt.Status.DECLINED,
                                 code=AttemptCode.CALLBACK_FAILED,
                                 message="The payment failed.", actor=actor, transaction_id=transaction_id)
            outcome = "applied"
    try:
        with transaction.atomic():
            GatewayEvent.objects.create(gateway=gateway, event_id=event_id, kind=kind,
                                        transaction_id=transaction_id, result=outcome)
    except IntegrityError:
        return "duplicate"  # the same event, concurrently: what it did is idempotent
    return outcome
