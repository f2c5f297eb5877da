"""Taking money: checkout, paying an order, settling the result and the reconciler (the gateways'
asynchronous callbacks, ``billing.services.callbacks``, settle through the same steps).

No interruption or conflict may leave a charge that no order shows and nothing can refund, so a
payment goes in steps, each committed on its own, and the gateway is never called inside a
database transaction:

1. **Intent.** Under a per-tenant lock, re-check what must hold before charging (no live
   subscription, no other subscription checkout in flight, the order payable, no other attempt of
   the order in flight), then commit a ``pending`` ``PaymentAttempt``. Its unique idempotency key
   is the gateway's own ``Idempotency-Key``: asking twice never charges twice.
2. **Charge** at the gateway.
3. **Result**, in its own transaction: the transaction id is recorded on the attempt (``succeeded``)
   before anything else can fail.
4. **Fulfil** (``order_finalize``: paid, invoice, licenses, subscription). If that fails for a
   business reason (e.g. the one-live-subscription constraint), the charge is refunded through the
   gateway and the order is closed as ``refunded`` with a reason; a refund that cannot be confirmed
   now leaves the attempt ``refund_pending``.

Whatever is left half-way (the process died, the gateway timed out, a refund was refused) is found
by ``payments_reconcile`` (scheduled): it asks the gateway about the charge by its idempotency key
or transaction id, then completes the order or refunds the charge. Every step is idempotent, so the
reconciler, a gateway callback and the request that started it may meet on the same attempt.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from billing import conf
from billing.codes import AttemptCode, AuditAction, ErrorCode
from billing.gateways import GatewayUnavailable, gateway_for
from billing.models import (
    CouponRedemption,
    IdempotencyRecord,
    Order,
    PaymentAttempt,
    PaymentGateway,
    PaymentMethod,
    Product,
    Subscription,
)
from billing.services.checkout import (
    CheckoutResult,
    coupon_redemption_release,
    coupon_redemption_reserve,
    order_create,
    order_finalize,
    order_quote,
)
from billing.services.entitlements import subscription_period_advance
from billing.services.errors import PaymentDeclined, PaymentReversed
from billing.services.payment_methods import gateway_resolve
from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict
from tenants.models import Tenant
from tenants.services import audit_record

logger = logging.getLogger(__name__)

# pg_advisory_xact_lock namespace for "one payment intent at a time per tenant" (high 32 bits).
_TENANT_LOCK_NAMESPACE = 0x0B111

SUBSCRIPTION_INTERVALS = [Product.Interval.MONTH, Product.Interval.YEAR]


# --- 1. Intent ----------------------------------------------------------------------------------


def _tenant_payment_lock(tenant_id: int) -> None:
    """Serialize payment intents of one tenant until the surrounding transaction ends. An advisory
    lock rather than the tenant row: inserting an order takes a key-share lock on that row, so
    ``FOR UPDATE`` there would also stall every unrelated write that references the tenant."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [(_TENANT_LOCK_NAMESPACE << 32) | int(tenant_id)])


def _subscription_guard(*, tenant_id: int, exclude_order_id: int | None = None) -> None:
    """Refuse a subscription purchase when the tenant has a live subscription, or another
    subscription checkout whose payment is not settled yet. Run under ``_tenant_payment_lock``."""
    if Subscription.objects.filter(tenant_id=tenant_id).exclude(status=Subscription.Status.CANCELLED).exists():
        raise Conflict("Your organization already has a subscription: change its plan instead.",
                       code=ErrorCode.SUBSCRIPTION_EXISTS)
    in_flight = (Order.objects.filter(tenant_id=tenant_id, kind=Order.Kind.CHECKOUT, status=Order.Status.PENDING,
                                      items__product__interval__in=SUBSCRIPTION_INTERVALS)
                 .exclude(pk=exclude_order_id).values_list("order_number", flat=True).first())
    if in_flight:
        raise Conflict(f"A subscription checkout of your organization is being paid (order {in_flight}); "
                       "wait for it to finish.", code=ErrorCode.CHECKOUT_IN_PROGRESS)


def _buys_subscription(order: Order) -> bool:
    return order.kind == Order.Kind.CHECKOUT and order.items.filter(
        product__interval__in=SUBSCRIPTION_INTERVALS).exists()


def _attempt_open(*, order_id: int, gateway: PaymentGateway) -> tuple[Order, PaymentAttempt]:
    """Step 1: lock, re-check, and commit a ``pending`` attempt (the intent) before any charge."""
    with transaction.atomic():
        tenant_id = Order.objects.values_list("tenant_id", flat=True).get(pk=order_id)
        _tenant_payment_lock(tenant_id)
        order = Order.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=order_id)
        if order.status not in (Order.Status.PENDING, Order.Status.PAYMENT_FAILED):
            raise Conflict(f"Order {order.order_number} is {order.status}.", code=ErrorCode.ORDER_NOT_PAYABLE)
        if order.attempts.filter(status__in=[PaymentAttempt.Status.PENDING, PaymentAttempt.Status.SUCCEEDED,
                                             PaymentAttempt.Status.REFUND_PENDING]).exists():
            raise Conflict(f"A payment of order {order.order_number} is still being settled.",
                           code=ErrorCode.PAYMENT_IN_PROGRESS)
        if _buys_subscription(order):
            _subscription_guard(tenant_id=tenant_id, exclude_order_id=order.pk)
        if order.coupon_id and not CouponRedemption.objects.filter(order=order).exists():
            coupon_redemption_reserve(order=order)  # released when the last attempt failed
        if order.status != Order.Status.PENDING:  # a retry: pending again until this attempt settles
            order.status = Order.Status.PENDING
            order.save(update_fields=["status", "updated_at"])
        attempt_no = order.attempts.count() + 1
        attempt = PaymentAttempt.objects.create(order=order, gateway=gateway, amount=order.total,
                                                idempotency_key=f"{order.order_number}-a{attempt_no}")
    return order, attempt


def order_checkout(*, tenant: Tenant, items: list[dict], gateway_code: str, token: str, actor: Actor,
                   coupon_code: str | None = None, billing_address: dict | None = None,
                   save_payment_method: bool = False, now: datetime.datetime | None = None,
                   idempotency_record_id: int | None = None) -> CheckoutResult:
    """Buy ``items`` for ``tenant``. Paid: invoice and licenses (keys in the result, once).
    Declined: ``PaymentDeclined`` after the order is committed as ``payment_failed``.
    Pending (3-D Secure): the order waits for ``payment_callback_apply``.
    A subscription while another is live or being paid: ``Conflict`` before anything is charged.
    ``idempotency_record_id`` links the order to the client's idempotency key (same transaction)."""
    now = now or timezone.now()
    if tenant.is_public:
        raise ApplicationError("The platform does not buy from itself.", code=ErrorCode.TENANT_REQUIRED)
    gateway = gateway_resolve(code=gateway_code)
    if not token:
        raise ApplicationError("A payment token is required.", fields={"payment": {"token": ["Required."]}})
    quote = order_quote(tenant=tenant, items=items, coupon_code=coupon_code, billing_address=billing_address,
                        now=now)
    products = [p for p, _ in quote["products"]]
    # The order and its intent commit together, under the tenant's payment lock: a concurrent
    # checkout either sees this order in flight or finds the subscription it created.
    with transaction.atomic():
        _tenant_payment_lock(tenant.pk)
        if any(p.is_subscription for p in products):
            _subscription_guard(tenant_id=tenant.pk)
        order = order_create(tenant=tenant, cart=quote["cart"], products=products, actor=actor, now=now,
                             coupon=quote["coupon"], tax_rate=quote["tax_rate"], address=quote["address"],
                             gateway=gateway)
        if idempotency_record_id is not None:
            IdempotencyRecord.objects.filter(pk=idempotency_record_id).update(order=order)
        order, attempt = _attempt_open(order_id=order.pk, gateway=gateway)
    return _charge(order=order, attempt=attempt, gateway=gateway, token=token, actor=actor, now=now,
                   save_payment_method=save_payment_method)


def order_pay(*, order: Order, gateway: PaymentGateway, token: str, actor: Actor, now: datetime.datetime,
              save_payment_method: bool = False, off_session: bool = False) -> CheckoutResult:
    """Charge a pending or failed order once (new idempotency key per attempt) and settle it."""
    order, attempt = _attempt_open(order_id=order.pk, gateway=gateway)
    return _charge(order=order, attempt=attempt, gateway=gateway, token=token, actor=actor, now=now,
                   save_payment_method=save_payment_method, off_session=off_session)


def order_payment_retry(*, order: Order, actor: Actor, gateway_code: str | None = None, token: str | None = None,
                        now: datetime.datetime | None = None) -> CheckoutResult:
    """Pay a ``payment_failed`` order again, with a new token or the tenant's default saved method."""
    now = now or timezone.now()
    if order.status != Order.Status.PAYMENT_FAILED:
        raise Conflict(f"Only a failed order can be retried; {order.order_number} is {order.status}.",
                       code=ErrorCode.ORDER_NOT_RETRYABLE)
    if token:
        gateway = gateway_resolve(code=gateway_code or (order.gateway.code if order.gateway_id else "sandbox"))
    else:
        method = PaymentMethod.objects.filter(tenant=order.tenant, is_default=True).select_related("gateway").first()
        if method is None:
            raise ApplicationError("No saved payment method to retry with.", code=ErrorCode.PAYMENT_METHOD_REQUIRED)
        gateway, token = method.gateway, method.reference
    return order_pay(order=order, gateway=gateway, token=token, actor=actor, now=now)


# --- 2. Charge, 3. result ------------------------------------------------------------------------


def _charge(*, order: Order, attempt: PaymentAttempt, gateway: PaymentGateway, token: str, actor: Actor,
            now: datetime.datetime, save_payment_method: bool = False, off_session: bool = False) -> CheckoutResult:
    if order.total == 0:
        return _settled_or_raise(payment_settle(attempt_id=attempt.pk, transaction_id="", actor=actor, now=now))
    try:
        result = gateway_for(gateway).charge(
            amount=order.total, currency=order.currency, token=token, idempotency_key=attempt.idempotency_key,
            description=f"{order.order_number}{' (renewal)' if off_session else ''}",
            metadata={"order_number": order.order_number, "tenant": order.tenant.slug})
    except GatewayUnavailable as exc:
        if not exc.maybe_charged:
            payment_attempt_fail(attempt_id=attempt.pk, status=PaymentAttempt.Status.ERROR,
                                 code=AttemptCode.GATEWAY_UNAVAILABLE,
                                 message=exc.message, actor=actor)
            raise
        # The gateway may have charged: the attempt stays pending, and the reconciler asks later.
        PaymentAttempt.objects.filter(pk=attempt.pk, status=PaymentAttempt.Status.PENDING).update(
            message=f"Outcome unknown: {exc.message}"[:255], updated_at=timezone.now())
        raise GatewayUnavailable(
            f"{exc.message} Order {order.order_number} is kept pending: once the gateway confirms, it is "
            "completed or the charge is refunded automatically.", maybe_charged=True) from exc
    if result.status == "succeeded":
        return _settled_or_raise(payment_settle(
            attempt_id=attempt.pk, transaction_id=result.transaction_id, actor=actor, now=now,
            card=result.card if save_payment_method else None, token=token, in_request=True))
    if result.status == "pending":
        with transaction.atomic():
            PaymentAttempt.objects.filter(pk=attempt.pk).update(transaction_id=result.transaction_id,
                                                                updated_at=timezone.now())
            Order.objects.filter(pk=order.pk).update(status=Order.Status.PENDING,
                                                    gateway_transaction_id=result.transaction_id)
        order.refresh_from_db()
        return CheckoutResult(order=order)
    failed = payment_attempt_fail(attempt_id=attempt.pk, status=PaymentAttempt.Status.DECLINED,
                                  code=result.decline_code, message=result.message, actor=actor,
                                  transaction_id=result.transaction_id)
    raise PaymentDeclined(result.message or "The payment was declined.", order=failed,
                          decline_code=result.decline_code)


def payment_attempt_fail(*, attempt_id: int, status: str, code: str, message: str, actor: Actor,
                         transaction_id: str = "") -> Order:
    """Nothing was (or will be) charged by this attempt: close it, and the order if it waited on it."""
    with transaction.atomic():
        attempt = PaymentAttempt.objects.select_for_update().select_related("order").get(pk=attempt_id)
        attempt.status, attempt.decline_code, attempt.message = status, code[:64], message[:255]
        attempt.transaction_id = transaction_id or attempt.transaction_id
        attempt.save(update_fields=["status", "decline_code", "message", "transaction_id", "updated_at"])
        order = Order.objects.select_for_update().get(pk=attempt.order_id)
        if order.status == Order.Status.PENDING:
            order.status = Order.Status.PAYMENT_FAILED
            order.save(update_fields=["status", "updated_at"])
            coupon_redemption_release(order=order)
            audit_record(actor=actor, action=AuditAction.ORDER_PAYMENT_FAILED, resource_type="billing_order",
                         resource_id=order.pk, tenant=order.tenant, changes={"decline_code": code})
    return order


# --- 4. Fulfil, or refund ----------------------------------------------------------------------------


@dataclass
class Settled:
    """What ``payment_settle`` did with a captured charge: ``completed`` (the order is paid by it),
    ``already`` (it had been), ``refunded`` or ``refund_pending`` (it could not be kept)."""

    outcome: str
    order: Order
    result: CheckoutResult | None = None
    reason: str = ""


def _settled_or_raise(settled: Settled) -> CheckoutResult:
    if settled.outcome in ("completed", "already"):
        return settled.result or CheckoutResult(order=settled.order)
    more = ("The charge was refunded." if settled.outcome == "refunded"
            else "The charge is being refunded.")
    raise PaymentReversed(f"{settled.reason} {more}", order=settled.order)


def payment_settle(*, attempt_id: int, transaction_id: str, actor: Actor, now: datetime.datetime, card=None,
                   token: str = "", in_request: bool = False) -> Settled:
    """A captured charge: record it (own transaction), then fulfil the order, or refund the charge
    when the order cannot take it. Idempotent: safe from the request, a callback and the reconciler."""
    with transaction.atomic():
        attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt_id)
        reversed_already = attempt.status in (PaymentAttempt.Status.REFUNDED, PaymentAttempt.Status.REFUND_PENDING)
        if not reversed_already:
            attempt.status = PaymentAttempt.Status.SUCCEEDED
            attempt.transaction_id = transaction_id or attempt.transaction_id
            attempt.decline_code = ""
            attempt.save(update_fields=["status", "transaction_id", "decline_code", "updated_at"])
    if reversed_already:
        return _refund_attempt(attempt_id=attempt.pk, actor=actor)
    transaction_id = attempt.transaction_id
    order = Order.objects.get(pk=attempt.order_id)
    if order.status in (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED, Order.Status.REFUNDED) and \
            order.paid_at is not None:
        if order.gateway_transaction_id == transaction_id:
            return Settled("already", order)
        return _compensate(attempt_id=attempt.pk, actor=actor, code=AttemptCode.DUPLICATE_PAYMENT,
                           reason=f"Order {order.order_number} was already paid by another charge.")
    if order.status not in (Order.Status.PENDING, Order.Status.PAYMENT_FAILED):
        return _compensate(attempt_id=attempt.pk, actor=actor, code=AttemptCode.ORDER_CLOSED,
                           reason=f"Order {order.order_number} is {order.get_status_display().lower()}.")
    if order.kind == Order.Kind.PRORATION and not in_request:
        # The plan change that ordered it gave up when its answer was lost; it is not applied late.
        return _compensate(attempt_id=attempt.pk, actor=actor, code=AttemptCode.PLAN_CHANGE_ABANDONED,
                           reason="The plan change was not completed.")
    try:
        result = order_finalize(order_id=order.pk, attempt_id=attempt.pk, transaction_id=transaction_id,
                                actor=actor, now=now, card=card, token=token)
    except IntegrityError as exc:
        reason = ("Your organization already has a subscription." if "one_live_subscription" in str(exc)
                  else "The order could not be completed.")
        logger.warning("order %s could not be finalized after charge %s: %s", order.order_number,
                       transaction_id, exc)
        return _compensate(attempt_id=attempt.pk, actor=actor, code=AttemptCode.FINALIZE_FAILED, reason=reason)
    except ApplicationError as exc:
        return _compensate(attempt_id=attempt.pk, actor=actor, code=exc.code, reason=exc.message)
    if result.order.gateway_transaction_id != transaction_id:  # another charge paid it meanwhile
        return _compensate(attempt_id=attempt.pk, actor=actor, code=AttemptCode.DUPLICATE_PAYMENT,
                           reason=f"Order {order.order_number} was already paid by another charge.")
    # "already": a concurrent settle of this same charge (callback, reconciler) got there first.
    return Settled("completed" if result.paid_now else "already", result.order, result=result)


def _compensate(*, attempt_id: int, actor: Actor, code: str, reason: str) -> Settled:
    """The charge of ``attempt`` cannot be kept: say why (committed first), then refund it."""
    with transaction.atomic():
        attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt_id)
        if attempt.status == PaymentAttempt.Status.REFUNDED:
            return Settled("refunded", Order.objects.get(pk=attempt.order_id), reason=attempt.message)
        attempt.status, attempt.decline_code = PaymentAttempt.Status.REFUND_PENDING, code[:64]
        attempt.message = reason[:255]
        attempt.save(update_fields=["status", "decline_code", "message", "updated_at"])
        order = Order.objects.select_for_update().select_related("tenant").get(pk=attempt.order_id)
        if order.paid_at is None:
            order.failure_reason = reason[:255]
            order.gateway_transaction_id = order.gateway_transaction_id or attempt.transaction_id
            order.save(update_fields=["failure_reason", "gateway_transaction_id", "updated_at"])
        audit_record(actor=actor, action=AuditAction.ORDER_CHARGE_REVERSAL, resource_type="billing_order",
                     resource_id=order.pk,
                     tenant=order.tenant, changes={"attempt": attempt.idempotency_key, "code": code,
                                                   "transaction": attempt.transaction_id, "reason": reason})
    return _refund_attempt(attempt_id=attempt_id, actor=actor)


def _refund_attempt(*, attempt_id: int, actor: Actor) -> Settled:
    """Refund a ``refund_pending`` attempt in full through its gateway (idempotency key derived from
    the attempt's, so repeating this never refunds twice). An unpaid order is closed as refunded."""
    attempt = PaymentAttempt.objects.select_related("gateway", "order").get(pk=attempt_id)
    reason = attempt.message
    if attempt.status != PaymentAttempt.Status.REFUND_PENDING:
        return Settled("refunded" if attempt.status == PaymentAttempt.Status.REFUNDED else "already",
                       attempt.order, reason=reason)
    refund_id = ""
    if attempt.amount > 0 and attempt.transaction_id:
        try:
            result = gateway_for(attempt.gateway).refund(transaction_id=attempt.transaction_id, amount=attempt.amount,
                                                         idempotency_key=f"{attempt.idempotency_key}-refund")
        except GatewayUnavailable as exc:
            logger.warning("refund of %s not confirmed: %s", attempt.idempotency_key, exc.message)
            return Settled("refund_pending", attempt.order, reason=reason)
        if result.status != "succeeded":
            logger.error("refund of %s refused: %s", attempt.idempotency_key, result.message)
            return Settled("refund_pending", attempt.order, reason=reason)
        refund_id = result.refund_id
    with transaction.atomic():
        attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt_id)
        if attempt.status != PaymentAttempt.Status.REFUND_PENDING:
            return Settled("refunded", Order.objects.get(pk=attempt.order_id), reason=reason)
        attempt.status, attempt.refund_id = PaymentAttempt.Status.REFUNDED, refund_id[:255]
        attempt.save(update_fields=["status", "refund_id", "updated_at"])
        order = Order.objects.select_for_update().select_related("tenant").get(pk=attempt.order_id)
        if order.paid_at is None and order.status in (Order.Status.PENDING, Order.Status.PAYMENT_FAILED):
            # Charged, refunded, never fulfilled: no invoice was issued, so no credit note either.
            order.status, order.refunded_amount = Order.Status.REFUNDED, order.total
            order.save(update_fields=["status", "refunded_amount", "updated_at"])
            coupon_redemption_release(order=order)
        audit_record(actor=actor, action=AuditAction.ORDER_CHARGE_REFUNDED, resource_type="billing_order",
                     resource_id=order.pk,
                     tenant=order.tenant, changes={"attempt": attempt.idempotency_key, "refund": refund_id,
                                                   "amount": attempt.amount, "reason": reason})
    return Settled("refunded", order, reason=reason)


def renewal_advance(settled: Settled, *, actor: Actor, now: datetime.datetime) -> None:
    """A renewal paid outside ``subscription_charge`` (callback, reconciler) moves its period on."""
    if settled.order.kind == Order.Kind.RENEWAL and settled.order.subscription_id:
        subscription_period_advance(subscription_id=settled.order.subscription_id, order=settled.order, actor=actor,
                                    now=now)


# --- Reconciler ----------------------------------------------------------------------------------


def payments_reconcile(*, actor: Actor, now: datetime.datetime | None = None, limit: int = 200) -> dict:
    """Finish payments left half-way (scheduled). Attempts older than
    ``BILLING_RECONCILE_AFTER_MINUTES`` are looked at:

    - ``pending`` (intent recorded, no result): the gateway is asked for the charge by idempotency key
      or transaction id. Captured: the order is completed, or the charge refunded when it cannot be.
      Declined or unknown to the gateway: the attempt and its order fail. Still waiting for the
      customer (3-D Secure): left alone, until ``BILLING_PAYMENT_ACTION_HOURS`` have passed.
    - ``succeeded`` on an order that is not paid by it: completed, or refunded.
    - ``refund_pending``: the refund is asked again.

    Idempotent: the gateway calls carry the attempt's idempotency keys, and every state change is
    made under the attempt's row lock, so overlapping runs (or a callback) do nothing twice."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(minutes=conf.get("BILLING_RECONCILE_AFTER_MINUTES"))
    abandon = now - datetime.timedelta(hours=conf.get("BILLING_PAYMENT_ACTION_HOURS"))
    counts = {"completed": 0, "refunded": 0, "refund_pending": 0, "failed": 0, "waiting": 0, "unreachable": 0,
              "errors": 0}
    old = PaymentAttempt.objects.filter(created_at__lt=cutoff).order_by("id")
    candidates = list(old.filter(status=PaymentAttempt.Status.PENDING).values_list("pk", flat=True)[:limit])
    # Succeeded attempts are most of the table: only a recent window is scanned for unfulfilled ones.
    window = now - datetime.timedelta(days=conf.get("BILLING_RECONCILE_WINDOW_DAYS"))
    candidates += list(old.filter(status=PaymentAttempt.Status.SUCCEEDED, created_at__gte=window).exclude(
        order__paid_at__isnull=False, order__gateway_transaction_id=F("transaction_id"))
        .values_list("pk", flat=True)[:limit])
    candidates += list(old.filter(status=PaymentAttempt.Status.REFUND_PENDING).values_list("pk", flat=True)[:limit])
    for attempt_id in candidates:
        try:
            result = _reconcile_one(attempt_id=attempt_id, actor=actor, now=now, abandon=abandon)
        except Exception:  # one broken attempt must not stop the others; it is retried next run
            logger.exception("reconciling payment attempt %s failed", attempt_id)
            result = "errors"
        if result:
            counts[result] += 1
    return counts


def _reconcile_one(*, attempt_id: int, actor: Actor, now: datetime.datetime, abandon: datetime.datetime) -> str:
    attempt = PaymentAttempt.objects.select_related("gateway", "order").get(pk=attempt_id)
    if attempt.status == PaymentAttempt.Status.REFUND_PENDING:
        return _refund_attempt(attempt_id=attempt.pk, actor=actor).outcome
    if attempt.status == PaymentAttempt.Status.SUCCEEDED:
        return _reconciled(payment_settle(attempt_id=attempt.pk, transaction_id="", actor=actor, now=now),
                           actor=actor, now=now)
    if attempt.status != PaymentAttempt.Status.PENDING:
        return ""
    if attempt.amount == 0:
        return _reconciled(payment_settle(attempt_id=attempt.pk, transaction_id="", actor=actor, now=now),
                           actor=actor, now=now)
    try:
        found = gateway_for(attempt.gateway).find_charge(idempotency_key=attempt.idempotency_key,
                                                         transaction_id=attempt.transaction_id)
    except GatewayUnavailable as exc:
        logger.warning("gateway unreachable while reconciling %s: %s", attempt.idempotency_key, exc.message)
        return "unreachable"
    if found is None:
        payment_attempt_fail(attempt_id=attempt.pk, status=PaymentAttempt.Status.ERROR, code=AttemptCode.NOT_CHARGED,
                             message="The gateway has no charge for this attempt.", actor=actor)
        return "failed"
    if found.status == "succeeded":
        return _reconciled(payment_settle(attempt_id=attempt.pk, transaction_id=found.transaction_id, actor=actor,
                                          now=now), actor=actor, now=now)
    if found.status == "declined":
        payment_attempt_fail(attempt_id=attempt.pk, status=PaymentAttempt.Status.DECLINED,
                             code=found.decline_code or AttemptCode.DECLINED,
                             message=found.message or "The payment was declined.", actor=actor,
                             transaction_id=found.transaction_id)
        return "failed"
    if attempt.created_at < abandon:  # the customer never completed 3-D Secure; a late success refunds
        payment_attempt_fail(attempt_id=attempt.pk, status=PaymentAttempt.Status.ERROR,
                             code=AttemptCode.AUTHENTICATION_ABANDONED,
                             message="The customer did not complete the payment.", actor=actor,
                             transaction_id=found.transaction_id)
        return "failed"
    if found.transaction_id and not attempt.transaction_id:
        PaymentAttempt.objects.filter(pk=attempt.pk, transaction_id="").update(transaction_id=found.transaction_id)
    return "waiting"


def _reconciled(settled: Settled, *, actor: Actor, now: datetime.datetime) -> str:
    if settled.outcome == "completed":
        renewal_advance(settled, actor=actor, now=now)
        return "completed"
    return "" if settled.outcome == "already" else settled.outcome
