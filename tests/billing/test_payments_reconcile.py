"""The payment reconciler and the settle/refund paths, service by service (the end-to-end security
cases are in tests/security/test_checkout_money.py), plus idempotency-key pruning and schedules."""

from __future__ import annotations

import datetime
from decimal import Decimal as D

import pytest
from django.utils import timezone

from billing.gateways import GatewayUnavailable, RefundResult, SandboxGateway
from billing.models import IdempotencyRecord, Order, PaymentAttempt, SandboxCharge, Subscription
from billing.services import (
    billing_cycle_run,
    idempotency_prune,
    order_checkout,
    order_payment_retry,
    payment_callback_apply,
    payments_reconcile,
)
from billing.services.errors import PaymentReversed
from cdp.context import Actor
from tests.billing.factories import CouponFactory, PlanProductFactory, ProductFactory

ACTOR = Actor.system("tests")
LATER = datetime.timedelta(minutes=11)


class Crash(Exception):
    pass


def reconcile(now=None):
    return payments_reconcile(actor=ACTOR, now=now or timezone.now() + LATER)


def test_an_intent_the_gateway_never_saw_fails_and_gives_the_coupon_back(world, monkeypatch):
    ProductFactory(sku="T-RC-NONE")
    coupon = CouponFactory(code="RCONCE", kind="fixed", value=D("5.00"), max_redemptions=1)
    monkeypatch.setattr(SandboxGateway, "charge", lambda self, **kw: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):  # died before the request left
        order_checkout(tenant=world.alpha, items=[{"sku": "T-RC-NONE"}], coupon_code="RCONCE",
                       gateway_code="sandbox", token="tok_visa", actor=ACTOR)
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 1  # reserved by the intent
    assert reconcile()["failed"] == 1
    order = Order.objects.get(items__sku="T-RC-NONE")
    attempt = order.attempts.get()
    assert order.status == "payment_failed" and attempt.status == "error" and attempt.decline_code == "not_charged"
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 0


def test_a_declined_charge_found_later_fails_the_order(world, monkeypatch):
    ProductFactory(sku="T-RC-DECL")
    real = SandboxGateway.charge

    def charge_then_die(self, **kwargs):
        real(self, **kwargs)
        raise Crash()

    monkeypatch.setattr(SandboxGateway, "charge", charge_then_die)
    with pytest.raises(Crash):
        order_checkout(tenant=world.alpha, items=[{"sku": "T-RC-DECL"}], gateway_code="sandbox",
                       token="tok_chargeDeclined", actor=ACTOR)
    assert reconcile()["failed"] == 1
    attempt = PaymentAttempt.objects.get(order__items__sku="T-RC-DECL")
    assert attempt.status == "declined" and attempt.decline_code == "generic_decline"
    assert attempt.order.status == "payment_failed"


def test_3ds_waits_then_is_given_up_and_a_late_success_still_lands_once(world):
    PlanProductFactory(sku="T-RC-3DS")
    order = order_checkout(tenant=world.alpha, items=[{"sku": "T-RC-3DS"}], gateway_code="sandbox",
                           token="tok_threeDSecure2Required", actor=ACTOR).order
    assert reconcile()["waiting"] == 1
    order.refresh_from_db()
    assert order.status == "pending"
    # a day later the customer still has not authenticated: the order fails, nothing stays pending
    assert reconcile(timezone.now() + datetime.timedelta(hours=25))["failed"] == 1
    order.refresh_from_db()
    assert order.status == "payment_failed"
    # the customer completes it after all: the order can still take it, so it is completed
    assert payment_callback_apply(gateway_code="sandbox", event_id="evt_late", kind="payment_intent.succeeded",
                                  transaction_id=order.gateway_transaction_id, actor=ACTOR) == "applied"
    order.refresh_from_db()
    assert order.status == "paid" and order.invoices.count() == 1


def test_a_second_charge_for_a_paid_order_is_refunded(world):
    ProductFactory(sku="T-RC-DUP")
    order = order_checkout(tenant=world.alpha, items=[{"sku": "T-RC-DUP"}], gateway_code="sandbox",
                           token="tok_threeDSecure2Required", actor=ACTOR).order
    first_txn = order.gateway_transaction_id
    reconcile(timezone.now() + datetime.timedelta(hours=25))  # given up
    paid = order_payment_retry(order=Order.objects.get(pk=order.pk), actor=ACTOR, token="tok_visa")
    assert paid.order.status == "paid"
    # the abandoned 3-D Secure charge completes after all: it is refunded, the order stays paid once
    assert payment_callback_apply(gateway_code="sandbox", event_id="evt_dup", kind="payment_intent.succeeded",
                                  transaction_id=first_txn, actor=ACTOR) == "applied"
    order.refresh_from_db()
    first = order.attempts.get(transaction_id=first_txn)
    assert order.status == "paid" and order.gateway_transaction_id != first_txn and order.invoices.count() == 1
    assert first.status == "refunded" and first.decline_code == "duplicate_payment"


def test_a_refund_the_gateway_does_not_confirm_is_retried_until_it_is(world, monkeypatch):
    product = PlanProductFactory(sku="T-RC-REF")
    other = PlanProductFactory(sku="T-RC-REF2")
    real = SandboxGateway.charge

    def charge_while_subscribed(self, **kwargs):
        result = real(self, **kwargs)
        Subscription.objects.create(tenant=world.alpha, product=other, interval="month", price=other.price,
                                    current_period_start=timezone.now(), current_period_end=timezone.now() + LATER)
        return result

    def refund_down(self, **kwargs):
        raise GatewayUnavailable("timeout")

    monkeypatch.setattr(SandboxGateway, "charge", charge_while_subscribed)
    monkeypatch.setattr(SandboxGateway, "refund", refund_down)
    with pytest.raises(PaymentReversed) as reversed_:
        order_checkout(tenant=world.alpha, items=[{"sku": product.sku}], gateway_code="sandbox", token="tok_visa",
                       actor=ACTOR)
    assert "being refunded" in reversed_.value.message
    attempt = PaymentAttempt.objects.get(order__items__sku="T-RC-REF")
    assert attempt.status == "refund_pending" and attempt.order.status == "pending"
    assert reconcile()["refund_pending"] == 1  # still down
    monkeypatch.setattr(SandboxGateway, "refund", lambda self, **kw: RefundResult(status="succeeded",
                                                                                  refund_id="re_ok"))
    assert reconcile()["refunded"] == 1
    attempt.refresh_from_db()
    assert attempt.status == "refunded" and attempt.refund_id == "re_ok" and attempt.order.status == "refunded"
    assert reconcile()["refunded"] == 0


def test_a_renewal_charged_in_a_crash_is_completed_and_its_period_moved_on_once(world, monkeypatch):
    from tests.billing.test_subscriptions import subscribe

    sub, _ = subscribe(world.alpha, sku="T-RC-RENEW")
    end = sub.current_period_end
    real = SandboxGateway.charge

    def charge_then_die(self, **kwargs):
        real(self, **kwargs)
        raise Crash()

    monkeypatch.setattr(SandboxGateway, "charge", charge_then_die)
    with pytest.raises(Crash):
        billing_cycle_run(actor=ACTOR, now=end)
    monkeypatch.undo()
    renewal = Order.objects.get(subscription=sub, kind="renewal")
    assert renewal.status == "pending"
    assert reconcile(end + LATER)["completed"] == 1
    sub.refresh_from_db()
    renewal.refresh_from_db()
    assert renewal.status == "paid" and sub.current_period_start == end and sub.current_period_end > end
    # the next cycle does not charge that period again
    assert billing_cycle_run(actor=ACTOR, now=end + LATER)["renewed"] == 0
    assert SandboxCharge.objects.filter(idempotency_key__startswith=f"{renewal.order_number}-a").count() == 1


def test_an_order_with_a_payment_in_flight_is_not_charged_again(world):
    ProductFactory(sku="T-RC-INFLIGHT")
    order = order_checkout(tenant=world.alpha, items=[{"sku": "T-RC-INFLIGHT"}], gateway_code="sandbox",
                           token="tok_threeDSecure2Required", actor=ACTOR).order
    from billing.services import order_pay
    from cdp.exceptions import Conflict

    with pytest.raises(Conflict) as busy:
        order_pay(order=order, gateway=order.gateway, token="tok_visa", actor=ACTOR, now=timezone.now())
    assert busy.value.code == "payment_in_progress"


def test_idempotency_keys_are_pruned_after_their_retention_unless_their_order_is_unsettled(world):
    ProductFactory(sku="T-RC-PRUNE")
    now = timezone.now()
    pending = order_checkout(tenant=world.alpha, items=[{"sku": "T-RC-PRUNE"}], gateway_code="sandbox",
                             token="tok_threeDSecure2Required", actor=ACTOR).order
    common = {"tenant": world.alpha, "principal": "user:1", "operation": "checkout", "request_hash": "x"}
    old_done = IdempotencyRecord.objects.create(**common, key_hash="a", status="completed",
                                                expires_at=now - LATER)
    old_unsettled = IdempotencyRecord.objects.create(**common, key_hash="b", order=pending, expires_at=now - LATER)
    fresh = IdempotencyRecord.objects.create(**common, key_hash="c", status="completed", expires_at=now + LATER)
    assert idempotency_prune(now=now) == 1
    assert set(IdempotencyRecord.objects.values_list("pk", flat=True)) >= {old_unsettled.pk, fresh.pk}
    assert not IdempotencyRecord.objects.filter(pk=old_done.pk).exists()


def test_the_reconciler_and_the_pruner_are_scheduled_with_an_expiry():
    from cdp.schedules import BEAT_SCHEDULE

    for name, task in (("billing-payments-reconcile", "billing.tasks.payments_reconcile_task"),
                       ("billing-idempotency-prune", "billing.tasks.idempotency_prune_task")):
        assert BEAT_SCHEDULE[name]["task"] == task and BEAT_SCHEDULE[name]["options"]["expires"] > 0


def test_the_tasks_run(world):
    from billing.tasks import idempotency_prune_task, payments_reconcile_task

    assert set(payments_reconcile_task.delay().get()) >= {"completed", "refunded", "failed"}
    assert idempotency_prune_task.delay().get() >= 0


def test_checkout_documents_the_idempotency_key_and_its_409s(world):
    import json

    from django.test import Client

    schema = json.loads(Client(HTTP_HOST="alpha.localhost").get("/api/schema/?format=json").content)
    operation = schema["paths"]["/api/v1/billing/checkout/"]["post"]
    [header] = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
    assert header["in"] == "header" and not header.get("required")
    assert "idempotency_key_reused" in operation["responses"]["409"]["description"]
    assert "Idempotent-Replayed" in operation["responses"]["201"].get("headers", {})
