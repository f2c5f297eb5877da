"""Subscriptions: start on a paid order, renew on schedule, dunning, plan changes with proration.

The dunning timeline is measured from the first failed renewal (``dunning_started_at``):
retries on the days in ``BILLING_DUNNING_RETRY_DAYS``, license suspended after
``BILLING_DUNNING_GRACE_DAYS``, subscription cancelled (churned) after
``BILLING_DUNNING_CANCEL_DAYS``. Every function takes ``now`` so the timeline is testable
without waiting; the licence's expiry is the period end plus the grace period, so a customer in
dunning keeps working until we suspend explicitly.
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from billing import conf
from billing.codes import AttemptCode, AuditAction, ErrorCode
from billing.models import MrrMovement, Order, PaymentMethod, Product, Subscription
from billing.money import CartLine, Discount, price_cart, q2
from billing.selectors import tax_rate_for, tenant_billing_address
from billing.services.errors import PaymentDeclined
from billing.services.orders import IssuedKey, order_create
from billing.services.payments import order_pay
from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict
from cdp.tasks import enqueue_on_commit
from licensing.models import License, Plan
from licensing.services import license_issue, license_reinstate, license_suspend, license_update
from tenants.services import audit_record, changes_between


def add_interval(moment: datetime.datetime, interval: str, count: int = 1) -> datetime.datetime:
    """Same day next month/year, clamped to the month's last day (Jan 31 -> Feb 28/29)."""
    months = count * (12 if interval == Product.Interval.YEAR else 1)
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _grace() -> datetime.timedelta:
    return datetime.timedelta(days=conf.get("BILLING_DUNNING_GRACE_DAYS"))


def _notify(subscription: Subscription, kind: str) -> None:
    enqueue_on_commit("billing.tasks.billing_notify_task", subscription_id=subscription.pk, kind=kind)


def _movement(subscription: Subscription, kind: str, amount: Decimal, now: datetime.datetime) -> None:
    if amount:
        MrrMovement.objects.create(occurred_at=now, tenant_id=subscription.tenant_id, subscription=subscription,
                                   kind=kind, amount=amount)


def _license(subscription: Subscription) -> License | None:
    if subscription.license_id is None:
        return None
    return License.objects.filter(pk=subscription.license_id).first()


# --- Paid orders -----------------------------------------------------------------------------------


def subscription_paid_order_apply(*, order: Order, actor: Actor, now: datetime.datetime) -> list[IssuedKey]:
    """What a paid checkout order grants: a subscription for a subscription product, and a
    license for each product tied to a plan (a subscription's license expires with its period
    plus grace; a one-time product's is perpetual). Runs inside ``order_finalize``'s transaction."""
    if order.kind != Order.Kind.CHECKOUT:
        return []
    issued: list[IssuedKey] = []
    for item in order.items.select_related("product"):
        product = item.product
        if product is None:
            continue
        subscription = None
        expires_at = None
        if product.is_subscription:
            end = add_interval(now, product.interval)
            method = PaymentMethod.objects.filter(tenant=order.tenant, is_default=True).first()
            subscription = Subscription.objects.create(
                tenant=order.tenant, product=product, interval=product.interval, price=product.price,
                current_period_start=now, current_period_end=end, payment_method=method)
            Order.objects.filter(pk=order.pk).update(subscription=subscription)
            _movement(subscription, MrrMovement.Kind.NEW, subscription.mrr, now)
            audit_record(actor=actor, action=AuditAction.SUBSCRIPTION_START, resource_type="billing_subscription",
                         resource_id=subscription.pk, tenant=order.tenant,
                         changes={"product": product.sku, "period_end": end})
            expires_at = end + _grace()
        if product.plan_code:
            result = license_issue(tenant=order.tenant, plan_code=product.plan_code, actor=actor,
                                   expires_at=expires_at, notes=f"Order {order.order_number}")
            item.license_id = result.license.pk
            item.save(update_fields=["license_id"])
            if subscription is not None:
                subscription.license_id = result.license.pk
                subscription.save(update_fields=["license_id", "updated_at"])
            issued.append(IssuedKey(license_id=result.license.pk, plan=product.plan_code, key=result.key,
                                    expires_at=expires_at))
    return issued


def order_refund_entitlements_revoke(*, order: Order, actor: Actor, now: datetime.datetime) -> None:
    """A fully refunded order gives back what it granted: its licenses and its subscription."""
    for item in order.items.exclude(license_id=None):
        license = License.objects.filter(pk=item.license_id).first()
        if license is not None and license.status != License.Status.CANCELLED:
            license_update(license=license, actor=actor, status=License.Status.CANCELLED)
    if order.subscription_id and order.kind == Order.Kind.CHECKOUT:
        subscription = Subscription.objects.select_for_update().get(pk=order.subscription_id)
        if subscription.status != Subscription.Status.CANCELLED:
            _cancel(subscription, actor=actor, now=now, reason="refund", revoke_license=False)


# --- Renewal and dunning ---------------------------------------------------------------------------


def _renewal_order(subscription: Subscription, actor: Actor, now: datetime.datetime) -> Order:
    """The open (failed) renewal order of this period, or a new one priced with today's tax."""
    open_order = subscription.orders.filter(kind=Order.Kind.RENEWAL, status__in=[
        Order.Status.PAYMENT_FAILED, Order.Status.PENDING]).order_by("-id").first()
    if open_order is not None:
        return open_order
    address = tenant_billing_address(tenant=subscription.tenant)
    rate = tax_rate_for(country=address["country"], state=address["state"])
    credit = min(subscription.credit_balance, subscription.price)
    product = subscription.product
    cart = price_cart(lines=[CartLine(product.sku, f"{product.name} (renewal)", subscription.price, 1)],
                      discount=Discount("fixed", credit) if credit else None,
                      tax_percent=rate.rate if rate else Decimal("0"), tax_inclusive=bool(rate and rate.inclusive))
    return order_create(tenant=subscription.tenant, cart=cart, products=[product], actor=actor, now=now,
                        kind=Order.Kind.RENEWAL, tax_rate=rate, address=address,
                        gateway=subscription.payment_method.gateway if subscription.payment_method else None,
                        subscription=subscription)


def _advance(subscription_id: int, order: Order, actor: Actor, now: datetime.datetime) -> Subscription:
    """After a paid renewal: next period, credit used, dunning cleared, license extended/reinstated."""
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().select_related("tenant").get(pk=subscription_id)
        used_credit = min(sub.credit_balance, sub.price)
        sub.current_period_start = sub.current_period_end
        sub.current_period_end = add_interval(sub.current_period_end, sub.interval)
        sub.credit_balance -= used_credit
        was_suspended = sub.dunning_state == Subscription.Dunning.SUSPENDED
        was_past_due = sub.status == Subscription.Status.PAST_DUE
        sub.status, sub.dunning_state = Subscription.Status.ACTIVE, Subscription.Dunning.NONE
        sub.dunning_started_at, sub.next_retry_at, sub.failed_attempts = None, None, 0
        sub.save()
        license = _license(sub)
        if license is not None:
            if license.status == License.Status.SUSPENDED:
                license = license_reinstate(license=license, actor=actor)
            license_update(license=license, actor=actor, expires_at=sub.current_period_end + _grace())
        audit_record(actor=actor, action=AuditAction.SUBSCRIPTION_RENEW, resource_type="billing_subscription",
                     resource_id=sub.pk, tenant=sub.tenant,
                     changes={"order": order.order_number, "period_end": sub.current_period_end,
                              "reinstated": was_suspended})
        if was_past_due:
            _notify(sub, "recovered")
    return sub


def subscription_charge(*, subscription: Subscription, actor: Actor, now: datetime.datetime) -> bool:
    """Try to pay the subscription's current renewal. True when paid; on failure the dunning
    state moves on (first failure starts it, each retry schedules the next)."""
    sub = Subscription.objects.select_related("tenant", "product", "payment_method__gateway").get(pk=subscription.pk)
    order = _renewal_order(sub, actor, now)
    paid = False
    decline = AttemptCode.NO_PAYMENT_METHOD
    if order.total == 0:
        from billing.services.orders import order_finalize

        order_finalize(order_id=order.pk, attempt_id=None, transaction_id="", actor=actor, now=now)
        paid = True
    elif sub.payment_method is not None:
        try:
            order_pay(order=order, gateway=sub.payment_method.gateway, token=sub.payment_method.reference,
                      actor=actor, now=now, off_session=True)
            paid = True
        except PaymentDeclined as exc:
            decline = exc.decline_code
        except ApplicationError as exc:  # gateway unreachable: a failed attempt like any other
            decline = exc.code
    else:
        Order.objects.filter(pk=order.pk, status=Order.Status.PENDING).update(status=Order.Status.PAYMENT_FAILED)
    order.refresh_from_db()
    if paid:
        _advance(sub.pk, order, actor, now)
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
        _notify(sub, "payment_failed")
    return False


def _cancel(sub: Subscription, *, actor: Actor, now: datetime.datetime, reason: str,
            revoke_license: bool = True) -> None:
    previous_status = sub.status
    sub.status, sub.cancelled_at, sub.next_retry_at = Subscription.Status.CANCELLED, now, None
    if sub.dunning_state != Subscription.Dunning.NONE:
        sub.dunning_state = Subscription.Dunning.EXHAUSTED
    sub.save()
    _movement(sub, MrrMovement.Kind.CHURN, -sub.mrr, now)
    license = _license(sub)
    if revoke_license and license is not None and license.status != License.Status.CANCELLED:
        license_update(license=license, actor=actor, status=License.Status.CANCELLED)
    audit_record(actor=actor, action=AuditAction.SUBSCRIPTION_CANCEL, resource_type="billing_subscription",
                 resource_id=sub.pk, tenant=sub.tenant,
                 changes={"reason": reason, **changes_between({"status": previous_status}, {"status": sub.status})})


def subscription_dunning_step(*, subscription: Subscription, actor: Actor, now: datetime.datetime) -> str:
    """Advance one past-due subscription along the timeline at ``now``; returns what it did."""
    sub = Subscription.objects.get(pk=subscription.pk)
    if sub.status != Subscription.Status.PAST_DUE or sub.dunning_started_at is None:
        return "none"
    elapsed = now - sub.dunning_started_at
    if elapsed >= datetime.timedelta(days=conf.get("BILLING_DUNNING_CANCEL_DAYS")):
        with transaction.atomic():
            locked = Subscription.objects.select_for_update().select_related("tenant").get(pk=sub.pk)
            _cancel(locked, actor=actor, now=now, reason="dunning_exhausted")
            _notify(locked, "cancelled")
        return "cancelled"
    action = "waiting"
    if sub.next_retry_at is not None and now >= sub.next_retry_at:
        if subscription_charge(subscription=sub, actor=actor, now=now):
            return "recovered"
        action = "retried"
    if elapsed >= _grace():
        with transaction.atomic():
            locked = Subscription.objects.select_for_update().select_related("tenant").get(pk=sub.pk)
            if locked.dunning_state == Subscription.Dunning.RETRYING:
                locked.dunning_state = Subscription.Dunning.SUSPENDED
                locked.save(update_fields=["dunning_state", "updated_at"])
                license = _license(locked)
                if license is not None and license.status != License.Status.CANCELLED:
                    license_suspend(license=license, actor=actor, reason="Payment overdue")
                audit_record(actor=actor, action=AuditAction.SUBSCRIPTION_SUSPEND, resource_type="billing_subscription",
                             resource_id=locked.pk, tenant=locked.tenant, changes={"dunning": "suspended"})
                _notify(locked, "suspended")
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
                _cancel(locked, actor=actor, now=now, reason="cancelled_at_period_end")
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
            _cancel(sub, actor=actor, now=now, reason="owner")
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
    A different interval starts a new period today. The license follows the new plan."""
    now = now or timezone.now()
    sub = Subscription.objects.select_related("tenant", "product", "payment_method__gateway").get(pk=subscription.pk)
    if sub.status != Subscription.Status.ACTIVE:
        raise Conflict("Only an active subscription can change plan.", code=ErrorCode.SUBSCRIPTION_NOT_ACTIVE)
    if not product.is_subscription or not product.is_active:
        raise ApplicationError("Choose an active subscription product.", fields={"product": ["Not a plan."]})
    if product.pk == sub.product_id:
        raise Conflict("That is already the current plan.", code=ErrorCode.PLAN_UNCHANGED)
    proration = proration_quote(subscription=sub, product=product, now=now)
    order = None
    if proration.net > 0:
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
        order_pay(order=order, gateway=sub.payment_method.gateway, token=sub.payment_method.reference, actor=actor,
                  now=now, off_session=True)  # PaymentDeclined propagates: nothing below happens
        order.refresh_from_db()
    with transaction.atomic():
        locked = Subscription.objects.select_for_update().select_related("tenant").get(pk=sub.pk)
        old_mrr, old_sku = locked.mrr, locked.product.sku
        locked.product, locked.price, locked.interval = product, product.price, product.interval
        if proration.net < 0:
            locked.credit_balance += -proration.net
        if proration.new_period:
            locked.current_period_start, locked.current_period_end = now, add_interval(now, product.interval)
        locked.save()
        delta = locked.mrr - old_mrr
        _movement(locked, MrrMovement.Kind.EXPANSION if delta > 0 else MrrMovement.Kind.CONTRACTION, delta, now)
        license = _license(locked)
        if license is not None and product.plan_code:
            plan = Plan.objects.get(code=product.plan_code)
            license_update(license=license, actor=actor, plan=plan, expires_at=locked.current_period_end + _grace())
        audit_record(actor=actor, action=AuditAction.SUBSCRIPTION_CHANGE_PLAN, resource_type="billing_subscription",
                     resource_id=locked.pk, tenant=locked.tenant,
                     changes={**changes_between({"product": old_sku}, {"product": product.sku}),
                              "credit": proration.credit,
                              "charge": proration.charge, "net": proration.net,
                              "order": order.order_number if order else None})
    return locked, proration, order
