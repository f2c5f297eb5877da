"""Subscriptions: renew on schedule, dunning, cancellation, plan changes with proration (a paid
order starts one and a paid renewal opens its next period: ``billing.services.entitlements``).

The dunning timeline is measured from the first failed renewal (``dunning_started_at``):
retries on the days in ``BILLING_DUNNING_RETRY_DAYS``, license suspended after
``BILLING_DUNNING_GRACE_DAYS``, subscription cancelled (churned) after
``BILLING_DUNNING_CANCEL_DAYS``. Every function takes ``now`` so the timeline is testable
without waiting; the licence's expiry is the period end plus the grace period, so a customer in
dunning keeps working until we suspend explicitly.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from billing import conf
from billing.codes import AttemptCode, AuditAction, ErrorCode
from billing.gateways import GatewayUnavailable
from billing.models import Order, Product, Subscription, UsageCharge
from billing.registry import UsageLine, usage_for
from billing.money import CartLine, Discount, price_cart, q2
from billing.selectors import tax_rate_for, tenant_billing_address
from billing.services.checkout import order_create, order_finalize
from billing.services.entitlements import (
    dunning_grace,
    subscription_end,
    subscription_license,
    subscription_notify,
    subscription_period_advance,
    subscription_plan_move,
)
from billing.services.errors import PaymentDeclined
from billing.services.payments import order_pay
from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict
from licensing.models import License
from licensing.services import license_suspend
from tenants.services import audit_record

# --- Renewal and dunning ---------------------------------------------------------------------------


def _usage_unbilled(subscription: Subscription) -> list[tuple[str, list[UsageLine]]]:
    """The usage of the period that just ended that no order has billed yet (``billing.registry``)."""
    billed = set(UsageCharge.objects.filter(tenant=subscription.tenant, period_start=subscription.current_period_start)
                 .values_list("source", flat=True))
    return [(source, lines) for source, lines in usage_for(tenant=subscription.tenant,
                                                            period_start=subscription.current_period_start,
                                                            period_end=subscription.current_period_end)
            if source not in billed]


def _renewal_order(subscription: Subscription, actor: Actor, now: datetime.datetime) -> Order:
    """The open (failed) renewal order of this period, or a new one priced with today's tax, with
    the usage lines of the period that just ended (each source billed once per period)."""
    open_order = subscription.orders.filter(kind=Order.Kind.RENEWAL, status__in=[
        Order.Status.PAYMENT_FAILED, Order.Status.PENDING]).order_by("-id").first()
    if open_order is not None:
        return open_order
    address = tenant_billing_address(tenant=subscription.tenant)
    rate = tax_rate_for(country=address["country"], state=address["state"])
    credit = min(subscription.credit_balance, subscription.price)
    product = subscription.product
    usage = _usage_unbilled(subscription)
    usage_lines = [CartLine(line.sku, line.description, line.unit_price, line.quantity)
                   for _, lines in usage for line in lines]
    cart = price_cart(lines=[CartLine(product.sku, f"{product.name} (renewal)", subscription.price, 1), *usage_lines],
                      discount=Discount("fixed", credit) if credit else None,
                      tax_percent=rate.rate if rate else Decimal("0"), tax_inclusive=bool(rate and rate.inclusive))
    with transaction.atomic():
        order = order_create(tenant=subscription.tenant, cart=cart, products=[product] + [None] * len(usage_lines),
                             actor=actor, now=now, kind=Order.Kind.RENEWAL, tax_rate=rate, address=address,
                             gateway=subscription.payment_method.gateway if subscription.payment_method else None,
                             subscription=subscription)
        # The unique (tenant, source, period) makes a concurrent second renewal fail here, not bill twice.
        UsageCharge.objects.bulk_create([
            UsageCharge(tenant=subscription.tenant, source=source, period_start=subscription.current_period_start,
                        period_end=subscription.current_period_end, order=order,
                        lines=[{"sku": line.sku, "description": line.description, "quantity": line.quantity,
                                "unit_price": str(line.unit_price)} for line in lines],
                        amount=sum((q2(line.unit_price * line.quantity) for line in lines), Decimal("0")))
            for source, lines in usage])
    return order


def subscription_charge(*, subscription: Subscription, actor: Actor, now: datetime.datetime) -> bool:
    """Try to pay the subscription's current renewal. True when paid; on failure the dunning
    state moves on (first failure starts it, each retry schedules the next)."""
    sub = Subscription.objects.select_related("tenant", "product", "payment_method__gateway").get(pk=subscription.pk)
    order = _renewal_order(sub, actor, now)
    paid = False
    decline = AttemptCode.NO_PAYMENT_METHOD
    if order.total == 0:
        order_finalize(order_id=order.pk, attempt_id=None, transaction_id="", actor=actor, now=now)
        paid = True
    elif sub.payment_method is not None:
        try:
            order_pay(order=order, gateway=sub.payment_method.gateway, token=sub.payment_method.reference,
                      actor=actor, now=now, off_session=True)
            paid = True
        except PaymentDeclined as exc:
            decline = exc.decline_code
        except (Conflict, GatewayUnavailable) as exc:
            if exc.code == "payment_in_progress" or getattr(exc, "maybe_charged", False):
                # This renewal's attempt has no known outcome (the worker charging it died, or the
                # gateway's answer was lost or timed out): the card may well have been charged. The
                # reconciler settles that attempt and renews the subscription if it was paid;
                # counting it as a failure here would start dunning and tell the customer so.
                return False
            decline = exc.code
        except ApplicationError as exc:  # refused before anything was charged: a failed attempt
            decline = exc.code
    else:
        Order.objects.filter(pk=order.pk, status=Order.Status.PENDING).update(status=Order.Status.PAYMENT_FAILED)
    order.refresh_from_db()
    if paid:
        subscription_period_advance(subscription_id=sub.pk, order=order, actor=actor, now=now)
        return True
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().select_related("tenant").get(pk=sub.pk)
        first = sub.status == Subscription.Status.ACTIVE
        if first:
            sub.status, sub.dunning_state, sub.dunning_started_at = (
                Subscription.Status.PAST_DUE, Subscription.Dunning.RETRYING, now)
        sub.failed_attempts += 1
        retry_days = list(conf.get("BILLING_DUNNING_RETRY_DAYS"))
        index = sub.failed_attempts - 1
        sub.next_retry_at = (sub.dunning_started_at + datetime.timedelta(days=retry_days[index])
                             if index < len(retry_days) else None)
        sub.save()
        audit_record(actor=actor, action=AuditAction.SUBSCRIPTION_PAYMENT_FAILED, resource_type="billing_subscription",
                     resource_id=sub.pk, tenant=sub.tenant,
                     changes={"order": order.order_number, "attempt": sub.failed_attempts, "decline": decline,
                              "next_retry_at": sub.next_retry_at})
        subscription_notify(sub, "payment_failed")
    return False


def subscription_dunning_step(*, subscription: Subscription, actor: Actor, now: datetime.datetime) -> str:
    """Advance one past-due subscription along the timeline at ``now``; returns what it did."""
    sub = Subscription.objects.get(pk=subscription.pk)
    if sub.status != Subscription.Status.PAST_DUE or sub.dunning_started_at is None:
        return "none"
    elapsed = now - sub.dunning_started_at
    if elapsed >= datetime.timedelta(days=conf.get("BILLING_DUNNING_CANCEL_DAYS")):
        with transaction.atomic():
            locked = Subscription.objects.select_for_update().select_related("tenant").get(pk=sub.pk)
            subscription_end(locked, actor=actor, now=now, reason="dunning_exhausted")
            subscription_notify(locked, "cancelled")
        return "cancelled"
    action = "waiting"
    if sub.next_retry_at is not None and now >= sub.next_retry_at:
        if subscription_charge(subscription=sub, actor=actor, now=now):
            return "recovered"
        action = "retried"
    if elapsed >= dunning_grace():
        with transaction.atomic():
            locked = Subscription.objects.select_for_update().select_related("tenant").get(pk=sub.pk)
            if locked.dunning_state == Subscription.Dunning.RETRYING:
                locked.dunning_state = Subscription.Dunning.SUSPENDED
                locked.save(update_fields=["dunning_state", "updated_at"])
                license = subscription_license(locked)
                if license is not None and license.status != License.Status.CANCELLED:
                    license_suspend(license=license, actor=actor, reason="Payment overdue")
                audit_record(actor=actor, action=AuditAction.SUBSCRIPTION_SUSPEND, resource_type="billing_subscription",
                             resource_id=locked.pk, tenant=locked.tenant, changes={"dunning": "suspended"})
                subscription_notify(locked, "suspended")
                return "suspended" if action == "waiting" else f"{action}+suspended"
    return action


def billing_cycle_run(*, actor: Actor, now: datetime.datetime | None = None) -> dict:
    """Renew every subscription whose period ended and move every past-due one along dunning."""
    now = now or timezone.now()
    counts = {"renewed": 0, "failed": 0, "cancelled": 0, "dunning": 0}
    due = Subscription.objects.filter(status=Subscription.Status.ACTIVE, current_period_end__lte=now)
    for sub in due.order_by("current_period_end", "id"):
        if sub.cancel_at_period_end:
            with transaction.atomic():
                locked = Subscription.objects.select_for_update().select_related("tenant").get(pk=sub.pk)
                subscription_end(locked, actor=actor, now=now, reason="cancelled_at_period_end")
            counts["cancelled"] += 1
        elif subscription_charge(subscription=sub, actor=actor, now=now):
            counts["renewed"] += 1
        else:
            counts["failed"] += 1
    for sub in Subscription.objects.filter(status=Subscription.Status.PAST_DUE).order_by("id"):
        if subscription_dunning_step(subscription=sub, actor=actor, now=now) != "waiting":
            counts["dunning"] += 1
    return counts


def subscription_payment_retry(*, subscription: Subscription, actor: Actor,
                               now: datetime.datetime | None = None) -> bool:
    """The owner pays a past-due subscription now (e.g. after saving a new card)."""
    now = now or timezone.now()
    if subscription.status != Subscription.Status.PAST_DUE:
        raise Conflict("Only a past-due subscription can be paid now.", code=ErrorCode.SUBSCRIPTION_NOT_PAST_DUE)
    return subscription_charge(subscription=subscription, actor=actor, now=now)


def subscription_cancel(*, subscription: Subscription, actor: Actor, at_period_end: bool = True,
                        now: datetime.datetime | None = None) -> Subscription:
    """Cancel now, or (default) at the end of the paid period."""
    now = now or timezone.now()
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().select_related("tenant").get(pk=subscription.pk)
        if sub.status == Subscription.Status.CANCELLED:
            return sub
        if at_period_end:
            sub.cancel_at_period_end = True
            sub.save(update_fields=["cancel_at_period_end", "updated_at"])
            audit_record(actor=actor, action=AuditAction.SUBSCRIPTION_CANCEL_SCHEDULED,
                         resource_type="billing_subscription",
                         resource_id=sub.pk, tenant=sub.tenant, changes={"at": sub.current_period_end})
        else:
            subscription_end(sub, actor=actor, now=now, reason="owner")
    return sub


# --- Plan changes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proration:
    credit: Decimal  # value of the unused time on the old plan
    charge: Decimal  # value of the same time (or a new period) on the new plan
    net: Decimal  # charge - credit: > 0 is paid now, < 0 becomes credit for the next renewal
    new_period: bool


def proration_quote(*, subscription: Subscription, product: Product, now: datetime.datetime) -> Proration:
    """Credit for unused time on the current plan against the new plan's price (before tax)."""
    start, end = subscription.current_period_start, subscription.current_period_end
    total = (end - start).total_seconds()
    remaining = max(0.0, min(total, (end - now).total_seconds()))
    fraction = Decimal(remaining) / Decimal(total) if total > 0 else Decimal(0)
    credit = q2(subscription.price * fraction)
    if product.interval == subscription.interval:
        charge = q2(product.price * fraction)
        return Proration(credit=credit, charge=charge, net=charge - credit, new_period=False)
    return Proration(credit=credit, charge=q2(product.price), net=q2(product.price) - credit, new_period=True)


def subscription_change_plan(*, subscription: Subscription, product: Product, actor: Actor,
                             now: datetime.datetime | None = None) -> tuple[Subscription, Proration, Order | None]:
    """Move to another subscription product. Upgrades pay the prorated difference now (with tax,
    on the saved card: declined means no change); downgrades leave credit for the next renewal.
    A different interval starts a new period today. The license follows the new plan.

    One change at a time: the subscription is locked while its change is decided, and while an
    upgrade's payment is pending another change is refused (``plan_change_in_progress``), so a
    double submit never pays twice. The upgrade is applied in the transaction that records its
    payment (``order_finalize``): paid and not moved cannot happen, even if this process dies."""
    now = now or timezone.now()
    with transaction.atomic():
        sub = (Subscription.objects.select_for_update(of=("self",))
               .select_related("tenant", "product", "payment_method__gateway").get(pk=subscription.pk))
        if sub.status != Subscription.Status.ACTIVE:
            raise Conflict("Only an active subscription can change plan.", code=ErrorCode.SUBSCRIPTION_NOT_ACTIVE)
        if not product.is_subscription or not product.is_active:
            raise ApplicationError("Choose an active subscription product.", fields={"product": ["Not a plan."]})
        if product.pk == sub.product_id:
            raise Conflict("That is already the current plan.", code=ErrorCode.PLAN_UNCHANGED)
        # (order times are the wall clock's: ``now`` may be a billing date given by the caller)
        waiting_since = timezone.now() - datetime.timedelta(hours=conf.get("BILLING_PAYMENT_ACTION_HOURS"))
        if Order.objects.filter(subscription=sub, kind=Order.Kind.PRORATION, status=Order.Status.PENDING,
                                created_at__gte=waiting_since).exists():
            raise Conflict("A plan change is already being paid; wait for it to finish.",
                           code=ErrorCode.PLAN_CHANGE_IN_PROGRESS)
        proration = proration_quote(subscription=sub, product=product, now=now)
        if proration.net <= 0:
            subscription_plan_move(sub, product=product, actor=actor, now=now, credit=-proration.net,
                                   changes={"credit": proration.credit, "charge": proration.charge,
                                            "net": proration.net, "order": None})
            return sub, proration, None
        if sub.payment_method is None:
            raise ApplicationError("Save a payment method before upgrading.", code=ErrorCode.PAYMENT_METHOD_REQUIRED)
        address = tenant_billing_address(tenant=sub.tenant)
        rate = tax_rate_for(country=address["country"], state=address["state"])
        cart = price_cart(lines=[CartLine(product.sku, f"{sub.product.name} → {product.name} (prorated)"[:255],
                                          proration.net, 1)],
                          tax_percent=rate.rate if rate else Decimal("0"), tax_inclusive=bool(rate and rate.inclusive))
        order = order_create(tenant=sub.tenant, cart=cart, products=[product], actor=actor, now=now,
                             kind=Order.Kind.PRORATION, tax_rate=rate, address=address,
                             gateway=sub.payment_method.gateway, subscription=sub)
    # PaymentDeclined propagates (nothing changed); paid, the change is applied with the payment.
    order_pay(order=order, gateway=sub.payment_method.gateway, token=sub.payment_method.reference, actor=actor,
              now=now, off_session=True)
    order.refresh_from_db()
    sub.refresh_from_db()
    return sub, proration, order
