"""Renewals, the dunning timeline (explicit ``now``, no sleeping), proration, callbacks."""

from __future__ import annotations

import datetime
from decimal import Decimal as D

import pytest
from django.core import mail

from billing.models import GatewayEvent, Invoice, MrrMovement, Order, PaymentMethod, Subscription
from billing.services import (
    add_interval,
    billing_cycle_run,
    order_checkout,
    payment_callback_apply,
    proration_quote,
    subscription_cancel,
    subscription_change_plan,
    subscription_payment_retry,
)
from billing.services.errors import PaymentDeclined
from cdp.context import Actor
from licensing.models import License
from tests.billing.factories import PlanProductFactory, TaxRateFactory

ACTOR = Actor.system("tests")
T0 = datetime.datetime(2030, 1, 31, 12, 0, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)


def subscribe(tenant, sku="T-STARTER-M", price=D("49.00"), plan="starter", interval="month", now=T0,
              token="tok_visa"):
    PlanProductFactory(sku=sku, price=price, plan_code=plan, interval=interval)
    result = order_checkout(tenant=tenant, items=[{"sku": sku, "quantity": 1}], gateway_code="sandbox", token=token,
                            actor=ACTOR, save_payment_method=True, now=now)
    return Subscription.objects.get(tenant=tenant), result


def test_add_interval_clamps_to_month_end():
    assert add_interval(T0, "month") == datetime.datetime(2030, 2, 28, 12, 0, tzinfo=datetime.UTC)
    assert add_interval(datetime.datetime(2032, 2, 29, tzinfo=datetime.UTC), "year").day == 28


def test_renewal_charges_saved_card_invoices_and_extends_license(world):
    sub, result = subscribe(world.alpha)
    license = License.objects.get(pk=sub.license_id)
    assert sub.current_period_end == datetime.datetime(2030, 2, 28, 12, 0, tzinfo=datetime.UTC)
    assert license.expires_at == sub.current_period_end + 7 * DAY
    # nothing is due before the period ends
    assert billing_cycle_run(actor=ACTOR, now=sub.current_period_end - DAY)["renewed"] == 0
    # when the period ends
    counts = billing_cycle_run(actor=ACTOR, now=sub.current_period_end)
    assert counts["renewed"] == 1
    sub.refresh_from_db()
    license.refresh_from_db()
    assert sub.current_period_end == datetime.datetime(2030, 3, 28, 12, 0, tzinfo=datetime.UTC)
    assert license.expires_at == sub.current_period_end + 7 * DAY
    renewal = Order.objects.get(subscription=sub, kind="renewal")
    assert renewal.status == "paid" and renewal.total == D("49.00")
    assert Invoice.objects.filter(order=renewal).count() == 1
    # running again at the same instant does nothing more (idempotent schedule)
    assert billing_cycle_run(actor=ACTOR, now=datetime.datetime(2030, 2, 28, 12, 0, tzinfo=datetime.UTC)) == {
        "renewed": 0, "failed": 0, "cancelled": 0, "dunning": 0}


def test_dunning_timeline_retries_suspends_and_reinstates(world, django_capture_on_commit_callbacks):
    sub, _ = subscribe(world.alpha)
    license_id = sub.license_id
    PaymentMethod.objects.filter(tenant=world.alpha).update(reference="tok_chargeDeclinedInsufficientFunds")
    end = sub.current_period_end

    def run(at):
        with django_capture_on_commit_callbacks(execute=True):
            return billing_cycle_run(actor=ACTOR, now=at)

    # day 0: the renewal fails -> past due, first retry scheduled for day 1, owners emailed
    mail.outbox.clear()
    assert run(end)["failed"] == 1
    sub.refresh_from_db()
    assert (sub.status, sub.dunning_state, sub.failed_attempts) == ("past_due", "retrying", 1)
    assert sub.next_retry_at == end + DAY
    assert [m.to for m in mail.outbox] == [["owner@alpha.test"]]
    assert "Payment failed" in mail.outbox[0].subject
    renewal = Order.objects.get(subscription=sub, kind="renewal")
    assert renewal.status == "payment_failed" and not renewal.invoices.exists()
    assert License.objects.get(pk=license_id).status == "active"  # usable during grace

    # half a day later: nothing to do
    run(end + DAY / 2)
    sub.refresh_from_db()
    assert sub.failed_attempts == 1

    # day 1 and day 3: retries fail, on the same order, each with its own idempotency key
    run(end + DAY)
    run(end + 3 * DAY)
    sub.refresh_from_db()
    assert sub.failed_attempts == 3 and sub.next_retry_at == end + 5 * DAY
    assert Order.objects.filter(subscription=sub, kind="renewal").count() == 1
    assert renewal.attempts.count() == 3
    assert len(mail.outbox) == 3

    # day 5: last retry fails; day 7: grace is over -> license suspended
    run(end + 5 * DAY)
    run(end + 7 * DAY)
    sub.refresh_from_db()
    assert sub.dunning_state == "suspended" and sub.next_retry_at is None
    assert License.objects.get(pk=license_id).status == "suspended"
    assert "suspended" in mail.outbox[-1].subject

    # the owner saves a good card and pays now: reinstated, next period from the old end
    PaymentMethod.objects.filter(tenant=world.alpha).update(reference="tok_visa")
    with django_capture_on_commit_callbacks(execute=True):
        assert subscription_payment_retry(subscription=sub, actor=ACTOR, now=end + 8 * DAY) is True
    sub.refresh_from_db()
    license = License.objects.get(pk=license_id)
    assert (sub.status, sub.dunning_state, sub.failed_attempts) == ("active", "none", 0)
    assert sub.current_period_start == end and sub.current_period_end == add_interval(end, "month")
    assert license.status == "active" and license.expires_at == sub.current_period_end + 7 * DAY
    renewal.refresh_from_db()
    assert renewal.status == "paid" and renewal.invoices.count() == 1
    assert "Payment received" in mail.outbox[-1].subject


def test_dunning_gives_up_and_churns(world):
    sub, _ = subscribe(world.alpha)
    PaymentMethod.objects.filter(tenant=world.alpha).update(reference="tok_chargeDeclined")
    end = sub.current_period_end
    for day in (0, 1, 3, 5, 7, 14):
        billing_cycle_run(actor=ACTOR, now=end + day * DAY)
    sub.refresh_from_db()
    assert sub.status == "past_due"
    billing_cycle_run(actor=ACTOR, now=end + 21 * DAY)
    sub.refresh_from_db()
    assert (sub.status, sub.dunning_state) == ("cancelled", "exhausted")
    assert License.objects.get(pk=sub.license_id).status == "cancelled"
    assert MrrMovement.objects.filter(subscription=sub, kind="churn").get().amount == D("-49.00")
    assert not Invoice.objects.filter(order__subscription=sub, order__kind="renewal").exists()


def test_upgrade_mid_period_charges_the_prorated_difference_with_tax(world):
    TaxRateFactory(country="AR", rate=D("21"))
    world.alpha.settings = {**world.alpha.settings, "billing_country": "AR"}
    world.alpha.save(update_fields=["settings"])
    start = datetime.datetime(2030, 4, 1, tzinfo=datetime.UTC)  # a 30-day period
    sub, _ = subscribe(world.alpha, now=start)
    pro = PlanProductFactory(sku="T-PRO-M", price=D("199.00"), plan_code="professional")
    half = start + 15 * DAY
    # unused half of 49 is credited against half of 199
    quote = proration_quote(subscription=sub, product=pro, now=half)
    assert (quote.credit, quote.charge, quote.net) == (D("24.50"), D("99.50"), D("75.00"))
    sub, proration, order = subscription_change_plan(subscription=sub, product=pro, actor=ACTOR, now=half)
    assert order.kind == "proration" and order.status == "paid"
    assert (order.subtotal, order.tax_amount, order.total) == (D("75.00"), D("15.75"), D("90.75"))
    assert sub.product == pro and sub.price == D("199.00")
    assert sub.current_period_end == datetime.datetime(2030, 5, 1, tzinfo=datetime.UTC)  # unchanged
    assert License.objects.get(pk=sub.license_id).plan.code == "professional"
    assert MrrMovement.objects.get(subscription=sub, kind="expansion").amount == D("150.00")


def test_downgrade_leaves_credit_for_the_next_renewal(world):
    start = datetime.datetime(2030, 4, 1, tzinfo=datetime.UTC)
    sub, _ = subscribe(world.alpha, sku="T-PRO-M", price=D("199.00"), plan="professional", now=start)
    starter = PlanProductFactory(sku="T-START-M", price=D("49.00"), plan_code="starter")
    sub, proration, order = subscription_change_plan(subscription=sub, product=starter, actor=ACTOR,
                                                     now=start + 20 * DAY)
    # 10 of 30 days left: credit 66.33, charge 16.33 -> 50.00 of credit, nothing charged
    assert order is None and proration.net == D("-50.00")
    assert sub.credit_balance == D("50.00")
    assert MrrMovement.objects.get(subscription=sub, kind="contraction").amount == D("-150.00")
    # the credit pays the next renewal (49.00) and 1.00 is left
    billing_cycle_run(actor=ACTOR, now=sub.current_period_end)
    renewal = Order.objects.get(subscription=sub, kind="renewal")
    assert (renewal.subtotal, renewal.discount_amount, renewal.total) == (D("49.00"), D("49.00"), D("0.00"))
    assert renewal.status == "paid" and renewal.invoices.count() == 1
    sub.refresh_from_db()
    assert sub.credit_balance == D("1.00")


def test_declined_upgrade_changes_nothing(world):
    sub, _ = subscribe(world.alpha)
    PaymentMethod.objects.filter(tenant=world.alpha).update(reference="tok_chargeDeclined")
    pro = PlanProductFactory(sku="T-PRO-X", price=D("199.00"), plan_code="professional")
    with pytest.raises(PaymentDeclined):
        subscription_change_plan(subscription=sub, product=pro, actor=ACTOR, now=T0 + 10 * DAY)
    sub.refresh_from_db()
    assert sub.product.sku == "T-STARTER-M"
    assert License.objects.get(pk=sub.license_id).plan.code == "starter"


def test_monthly_to_annual_starts_a_new_period(world):
    start = datetime.datetime(2030, 4, 1, tzinfo=datetime.UTC)
    sub, _ = subscribe(world.alpha, now=start)
    annual = PlanProductFactory(sku="T-STARTER-Y", price=D("490.00"), interval="year")
    sub, proration, order = subscription_change_plan(subscription=sub, product=annual, actor=ACTOR,
                                                     now=start + 15 * DAY)
    assert proration.new_period and proration.net == D("465.50")
    assert sub.current_period_end == datetime.datetime(2031, 4, 16, tzinfo=datetime.UTC)
    assert sub.mrr == D("40.83")


def test_cancel_at_period_end_churns_then(world):
    sub, _ = subscribe(world.alpha)
    subscription_cancel(subscription=sub, actor=ACTOR, now=T0 + DAY)
    assert billing_cycle_run(actor=ACTOR, now=sub.current_period_end)["cancelled"] == 1
    sub.refresh_from_db()
    assert sub.status == "cancelled"
    assert not Order.objects.filter(subscription=sub, kind="renewal").exists()


def test_payment_callbacks_are_idempotent(world):
    # given a 3-D Secure checkout waiting for the customer
    PlanProductFactory(sku="T-3DS")
    result = order_checkout(tenant=world.alpha, items=[{"sku": "T-3DS"}], gateway_code="sandbox",
                            token="tok_threeDSecure2Required", actor=ACTOR, now=T0)
    order = result.order
    assert order.status == "pending" and not order.invoices.exists() and not License.objects.filter(
        tenant=world.alpha).exists()
    # when the gateway reports success, twice, plus a late failure event for the same intent
    kwargs = {"gateway_code": "sandbox", "transaction_id": order.gateway_transaction_id, "actor": ACTOR, "now": T0}
    assert payment_callback_apply(event_id="evt_1", kind="payment_intent.succeeded", **kwargs) == "applied"
    assert payment_callback_apply(event_id="evt_1", kind="payment_intent.succeeded", **kwargs) == "duplicate"
    assert payment_callback_apply(event_id="evt_2", kind="payment_intent.succeeded", **kwargs) == "ignored"
    assert payment_callback_apply(event_id="evt_3", kind="payment_intent.payment_failed", **kwargs) == "ignored"
    # then one paid order, one invoice, one license, one subscription
    order.refresh_from_db()
    assert order.status == "paid"
    assert order.invoices.count() == 1
    assert License.objects.filter(tenant=world.alpha).count() == 1
    assert Subscription.objects.filter(tenant=world.alpha).count() == 1
    assert GatewayEvent.objects.count() == 3


def test_signed_callback_endpoint_on_the_public_host(world, public_client):
    import json

    from billing.api.views import callback_signature

    PlanProductFactory(sku="T-3DS-API")
    order = order_checkout(tenant=world.alpha, items=[{"sku": "T-3DS-API"}], gateway_code="sandbox",
                           token="tok_threeDSecure2Required", actor=ACTOR).order
    body = json.dumps({"id": "evt_api", "type": "payment_intent.succeeded",
                       "data": {"object": {"id": order.gateway_transaction_id}}}).encode()
    client = public_client()
    url = "/api/v1/billing/callbacks/sandbox/"
    bad = client.post(url, body, content_type="application/json", HTTP_X_CDP_SIGNATURE="nope")
    assert bad.status_code == 400
    for expected in ("applied", "duplicate"):
        response = client.post(url, body, content_type="application/json",
                               HTTP_X_CDP_SIGNATURE=callback_signature(body))
        assert response.status_code == 200 and response.json() == {"result": expected}
    order.refresh_from_db()
    assert order.status == "paid" and order.invoices.count() == 1


def test_an_upgrade_paid_but_not_applicable_is_refunded_not_kept(world, monkeypatch):
    # the payment is recorded and the plan moved in one transaction: when moving fails after the
    # charge (here the license update), the charge is refunded and nothing changed
    from billing.models import PaymentAttempt, SandboxCharge
    from billing.services.errors import PaymentReversed
    from cdp.exceptions import ApplicationError

    sub, _ = subscribe(world.alpha)
    pro = PlanProductFactory(sku="T-PRO-F", price=D("199.00"), plan_code="professional")

    def broken(**kwargs):
        raise ApplicationError("The license could not be updated.", code="license_update_failed")

    monkeypatch.setattr("billing.services.entitlements.license_update", broken)
    with pytest.raises(PaymentReversed):
        subscription_change_plan(subscription=sub, product=pro, actor=ACTOR, now=T0 + 10 * DAY)

    sub.refresh_from_db()
    order = Order.objects.get(subscription=sub, kind="proration")
    attempt = PaymentAttempt.objects.get(order=order)
    assert sub.product.sku == "T-STARTER-M" and order.paid_at is None
    assert attempt.status == PaymentAttempt.Status.REFUNDED
    charge = SandboxCharge.objects.get(transaction_id=attempt.transaction_id)
    assert charge.amount_refunded == charge.amount


def test_a_second_change_while_an_upgrade_is_being_paid_is_refused(world, monkeypatch):
    from cdp.exceptions import Conflict

    sub, _ = subscribe(world.alpha)
    pro = PlanProductFactory(sku="T-PRO-W", price=D("199.00"), plan_code="professional")
    # an upgrade whose payment has no answer yet (the bank, or the first click still paying)
    monkeypatch.setattr("billing.services.subscriptions.order_pay", lambda **kwargs: None)
    subscription_change_plan(subscription=sub, product=pro, actor=ACTOR, now=T0 + 10 * DAY)
    assert Order.objects.get(subscription=sub, kind="proration").status == "pending"
    sub.refresh_from_db()
    assert sub.product.sku == "T-STARTER-M"  # moved only once paid

    business = PlanProductFactory(sku="T-BIZ-W", price=D("399.00"), plan_code="professional")
    with pytest.raises(Conflict) as refused:
        subscription_change_plan(subscription=sub, product=business, actor=ACTOR, now=T0 + 10 * DAY)
    assert refused.value.code == "plan_change_in_progress"
    assert Order.objects.filter(subscription=sub, kind="proration").count() == 1
