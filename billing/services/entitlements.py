"""What an order grants and takes back: the subscription and licenses a paid order starts, the
next period a paid renewal opens, and their end (cancellation, refund).

The lowest of billing's service modules: checkout, refunds, payments and subscriptions build on
it, and it imports none of them (no cycle). Each function runs inside its caller's transaction.
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from billing import conf
from billing.codes import AuditAction
from billing.models import MrrMovement, Order, PaymentMethod, Product, Subscription
from cdp.context import Actor
from cdp.tasks import enqueue_on_commit
from licensing.models import License, Plan
from licensing.services import license_issue, license_reinstate, license_update
from tenants.services import audit_record, changes_between


@dataclass
class IssuedKey:
    """A license a paid order issued; ``key`` is shown to the buyer once and kept nowhere."""

    license_id: int
    plan: str
    key: str
    expires_at: datetime.datetime | None


def add_interval(moment: datetime.datetime, interval: str, count: int = 1) -> datetime.datetime:
    """Same day next month/year, clamped to the month's last day (Jan 31 -> Feb 28/29)."""
    months = count * (12 if interval == Product.Interval.YEAR else 1)
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def dunning_grace() -> datetime.timedelta:
    """How long past its period a subscription's license keeps working (``BILLING_DUNNING_GRACE_DAYS``)."""
    return datetime.timedelta(days=conf.get("BILLING_DUNNING_GRACE_DAYS"))


def subscription_notify(subscription: Subscription, kind: str) -> None:
    """E-mail the owners about ``kind`` once the caller's transaction commits."""
    enqueue_on_commit("billing.tasks.billing_notify_task", subscription_id=subscription.pk, kind=kind)


def mrr_movement_record(subscription: Subscription, kind: str, amount: Decimal, now: datetime.datetime) -> None:
    if amount:
        MrrMovement.objects.create(occurred_at=now, tenant_id=subscription.tenant_id, subscription=subscription,
                                   kind=kind, amount=amount)


def subscription_license(subscription: Subscription) -> License | None:
    if subscription.license_id is None:
        return None
    return License.objects.filter(pk=subscription.license_id).first()


def subscription_paid_order_apply(*, order: Order, actor: Actor, now: datetime.datetime) -> list[IssuedKey]:
    """What a paid checkout order grants: a subscription for a subscription product, and a
    license for each product tied to a plan (a subscription's license expires with its period
    plus grace; a one-time product's is perpetual). A paid plan-change order moves its
    subscription to the new plan (``plan_change_apply``). Runs inside ``order_finalize``'s
    transaction: the payment and what it buys commit together."""
    if order.kind == Order.Kind.PRORATION:
        plan_change_apply(order=order, actor=actor, now=now)
        return []
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
            mrr_movement_record(subscription, MrrMovement.Kind.NEW, subscription.mrr, now)
            audit_record(actor=actor, action=AuditAction.SUBSCRIPTION_START, resource_type="billing_subscription",
                         resource_id=subscription.pk, tenant=order.tenant,
                         changes={"product": product.sku, "period_end": end})
            expires_at = end + dunning_grace()
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


def plan_change_apply(*, order: Order, actor: Actor, now: datetime.datetime) -> Subscription:
    """The plan change a paid proration order bought: its subscription moves to the order's product.
    Idempotent (a subscription already on that product is left as it is)."""
    sub = Subscription.objects.select_for_update().select_related("tenant", "product").get(pk=order.subscription_id)
    product = order.items.select_related("product").get().product
    if sub.product_id != product.pk:
        subscription_plan_move(sub, product=product, actor=actor, now=now, credit=Decimal("0"),
                               changes={"charged": order.subtotal, "order": order.order_number})
    return sub


def subscription_plan_move(sub: Subscription, *, product: Product, actor: Actor, now: datetime.datetime,
                           credit: Decimal, changes: dict) -> None:
    """Put the (locked) subscription on ``product``: price and interval follow it, a different
    interval starts a new period today, ``credit`` is added for the next renewals, the MRR movement
    and the license's plan follow. Audited with ``changes`` besides the product's."""
    old_mrr, old_sku = sub.mrr, sub.product.sku
    new_period = product.interval != sub.interval
    sub.product, sub.price, sub.interval = product, product.price, product.interval
    sub.credit_balance += credit
    if new_period:
        sub.current_period_start, sub.current_period_end = now, add_interval(now, product.interval)
    sub.save()
    delta = sub.mrr - old_mrr
    mrr_movement_record(sub, MrrMovement.Kind.EXPANSION if delta > 0 else MrrMovement.Kind.CONTRACTION, delta, now)
    license = subscription_license(sub)
    if license is not None and product.plan_code:
        license_update(license=license, actor=actor, plan=Plan.objects.get(code=product.plan_code),
                       expires_at=sub.current_period_end + dunning_grace())
    audit_record(actor=actor, action=AuditAction.SUBSCRIPTION_CHANGE_PLAN, resource_type="billing_subscription",
                 resource_id=sub.pk, tenant=sub.tenant,
                 changes={**changes_between({"product": old_sku}, {"product": product.sku}), **changes})


def subscription_period_advance(*, subscription_id: int, order: Order, actor: Actor,
                                now: datetime.datetime) -> Subscription:
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
        license = subscription_license(sub)
        if license is not None:
            if license.status == License.Status.SUSPENDED:
                license = license_reinstate(license=license, actor=actor)
            license_update(license=license, actor=actor, expires_at=sub.current_period_end + dunning_grace())
        audit_record(actor=actor, action=AuditAction.SUBSCRIPTION_RENEW, resource_type="billing_subscription",
                     resource_id=sub.pk, tenant=sub.tenant,
                     changes={"order": order.order_number, "period_end": sub.current_period_end,
                              "reinstated": was_suspended})
        if was_past_due:
            subscription_notify(sub, "recovered")
    return sub


def subscription_end(sub: Subscription, *, actor: Actor, now: datetime.datetime, reason: str,
                     revoke_license: bool = True) -> None:
    """Cancel ``sub`` (locked by the caller): churn recorded, its license cancelled unless told not to."""
    previous_status = sub.status
    sub.status, sub.cancelled_at, sub.next_retry_at = Subscription.Status.CANCELLED, now, None
    if sub.dunning_state != Subscription.Dunning.NONE:
        sub.dunning_state = Subscription.Dunning.EXHAUSTED
    sub.save()
    mrr_movement_record(sub, MrrMovement.Kind.CHURN, -sub.mrr, now)
    license = subscription_license(sub)
    if revoke_license and license is not None and license.status != License.Status.CANCELLED:
        license_update(license=license, actor=actor, status=License.Status.CANCELLED)
    audit_record(actor=actor, action=AuditAction.SUBSCRIPTION_CANCEL, resource_type="billing_subscription",
                 resource_id=sub.pk, tenant=sub.tenant,
                 changes={"reason": reason, **changes_between({"status": previous_status}, {"status": sub.status})})


def order_refund_entitlements_revoke(*, order: Order, actor: Actor, now: datetime.datetime) -> None:
    """A fully refunded order gives back what it granted: its licenses and its subscription."""
    for item in order.items.exclude(license_id=None):
        license = License.objects.filter(pk=item.license_id).first()
        if license is not None and license.status != License.Status.CANCELLED:
            license_update(license=license, actor=actor, status=License.Status.CANCELLED)
    if order.subscription_id and order.kind == Order.Kind.CHECKOUT:
        subscription = Subscription.objects.select_for_update().get(pk=order.subscription_id)
        if subscription.status != Subscription.Status.CANCELLED:
            subscription_end(subscription, actor=actor, now=now, reason="refund", revoke_license=False)
