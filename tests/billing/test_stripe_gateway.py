"""The Stripe-style adapter against a local fake server speaking Stripe's wire format
(tests/billing/fake_stripe.py: form-encoded bodies, Bearer key, Idempotency-Key replay and
mismatch, 402 card errors, retrieve, search, refunds). Our client is not patched."""

from __future__ import annotations

import datetime
from decimal import Decimal as D

import pytest
from django.utils import timezone

from billing.gateways import GatewayUnavailable, StripeGateway
from billing.models import Invoice, Order, PaymentAttempt, PaymentGateway
from billing.services import payments_reconcile
from cdp.context import Actor
from tests.billing.factories import PlanProductFactory, ProductFactory
from tests.billing.fake_stripe import FakeStripe


@pytest.fixture
def fake_stripe():
    with FakeStripe() as fake:
        yield fake


def test_success_sends_form_encoded_intent_with_idempotency_key(fake_stripe):
    gateway = StripeGateway(base_url=fake_stripe.url, secret_key="sk_test_fake")
    result = gateway.charge(amount=D("325.60"), currency="USD", token="tok_visa", idempotency_key="ORD-1-a1",
                            metadata={"order_number": "ORD-1"})
    assert result.succeeded and result.transaction_id == "pi_fake_1"
    assert (result.card.brand, result.card.last4, result.card.exp_month) == ("visa", "4242", 8)
    [request] = fake_stripe.requests
    assert request["headers"]["Idempotency-Key"] == "ORD-1-a1"
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    form = request["form"]
    assert (form["amount"], form["currency"], form["confirm"]) == ("32560", "usd", "true")
    assert form["payment_method_data[type]"] == "card"
    assert form["metadata[order_number]"] == "ORD-1"
    # the same key answers the same charge (no second payment)
    again = gateway.charge(amount=D("325.60"), currency="USD", token="tok_visa", idempotency_key="ORD-1-a1",
                           metadata={"order_number": "ORD-1"})
    assert again.transaction_id == "pi_fake_1" and fake_stripe.counter == 1


def test_card_error_402_is_a_decline_with_its_code(fake_stripe):
    gateway = StripeGateway(base_url=fake_stripe.url, secret_key="sk_test_fake")
    result = gateway.charge(amount=D("10"), currency="USD", token="tok_chargeDeclinedInsufficientFunds",
                            idempotency_key="k2")
    assert result.status == "declined" and result.decline_code == "insufficient_funds"
    assert result.transaction_id.startswith("pi_fake_")


def test_server_and_auth_errors_are_gateway_unavailable(fake_stripe):
    with pytest.raises(GatewayUnavailable):
        StripeGateway(base_url=fake_stripe.url, secret_key="sk_test_fake").charge(
            amount=D("1"), currency="USD", token="tok_boom", idempotency_key="k3")
    with pytest.raises(GatewayUnavailable):
        StripeGateway(base_url=fake_stripe.url, secret_key="sk_wrong").charge(
            amount=D("1"), currency="USD", token="tok_visa", idempotency_key="k4")
    with pytest.raises(GatewayUnavailable):
        StripeGateway(base_url="http://127.0.0.1:9", secret_key="sk_test_fake", timeout=2).charge(
            amount=D("1"), currency="USD", token="tok_visa", idempotency_key="k5")


def test_refund_is_idempotent_and_never_exceeds_the_charge(fake_stripe):
    gateway = StripeGateway(base_url=fake_stripe.url, secret_key="sk_test_fake")
    charge = gateway.charge(amount=D("10.00"), currency="USD", token="tok_visa", idempotency_key="c1")
    result = gateway.refund(transaction_id=charge.transaction_id, amount=D("5.5"), idempotency_key="r1")
    assert result.status == "succeeded" and result.refund_id.startswith("re_fake_")
    assert fake_stripe.requests[-1]["form"] == {"payment_intent": charge.transaction_id, "amount": "550"}
    assert fake_stripe.requests[-1]["headers"]["Idempotency-Key"] == "r1"
    # the same refund again: the saved answer, no second refund
    assert gateway.refund(transaction_id=charge.transaction_id, amount=D("5.5"),
                          idempotency_key="r1").refund_id == result.refund_id
    assert len(fake_stripe.refunds) == 1
    # more than what is left is refused with Stripe's error; the rest is accepted; then "already refunded"
    too_much = gateway.refund(transaction_id=charge.transaction_id, amount=D("9"), idempotency_key="r2")
    assert too_much.status == "failed" and "greater than unrefunded" in too_much.message
    assert gateway.refund(transaction_id=charge.transaction_id, amount=D("4.5"), idempotency_key="r3").status == \
        "succeeded"
    assert gateway.refund(transaction_id=charge.transaction_id, amount=D("1"), idempotency_key="r4").status == \
        "succeeded"  # charge_already_refunded: the money is back, which is what was asked
    unknown = gateway.refund(transaction_id="pi_nope", amount=D("1"), idempotency_key="r5")
    assert unknown.status == "failed" and "No such payment_intent" in unknown.message


def test_refund_server_error_is_gateway_unavailable(fake_stripe):
    gateway = StripeGateway(base_url=fake_stripe.url, secret_key="sk_test_fake")
    charge = gateway.charge(amount=D("10.00"), currency="USD", token="tok_visa", idempotency_key="c1")
    fake_stripe.fail_refunds = True
    with pytest.raises(GatewayUnavailable):
        gateway.refund(transaction_id=charge.transaction_id, amount=D("10"), idempotency_key="r1")


def test_idempotency_key_replays_and_refuses_other_parameters(fake_stripe):
    gateway = StripeGateway(base_url=fake_stripe.url, secret_key="sk_test_fake")
    first = gateway.charge(amount=D("10.00"), currency="USD", token="tok_visa", idempotency_key="same")
    again = gateway.charge(amount=D("10.00"), currency="USD", token="tok_visa", idempotency_key="same")
    assert again.transaction_id == first.transaction_id and len(fake_stripe.charges) == 1
    # Stripe answers 400 idempotency_error: nothing was charged, so the adapter says so
    with pytest.raises(GatewayUnavailable) as refused:
        gateway.charge(amount=D("11.00"), currency="USD", token="tok_visa", idempotency_key="same")
    assert refused.value.maybe_charged is False and "idempotency_error" in refused.value.message
    assert len(fake_stripe.charges) == 1


def test_charge_metadata_carries_the_idempotency_key_and_find_charge_uses_it(fake_stripe):
    gateway = StripeGateway(base_url=fake_stripe.url, secret_key="sk_test_fake")
    charge = gateway.charge(amount=D("3.00"), currency="USD", token="tok_visa", idempotency_key="ORD-9-a1",
                            metadata={"order_number": "ORD-9"})
    assert fake_stripe.requests[-1]["form"]["metadata[cdp_idempotency_key]"] == "ORD-9-a1"
    # by transaction id: GET /v1/payment_intents/{id}
    by_id = gateway.find_charge(idempotency_key="ORD-9-a1", transaction_id=charge.transaction_id)
    assert by_id.status == "succeeded" and by_id.transaction_id == charge.transaction_id
    assert fake_stripe.requests[-1]["method"] == "GET" and "Idempotency-Key" not in fake_stripe.requests[-1][
        "headers"]
    # by idempotency key: the search API on the metadata, quotes escaped
    by_key = gateway.find_charge(idempotency_key="ORD-9-a1")
    assert by_key.transaction_id == charge.transaction_id
    assert fake_stripe.requests[-1]["path"] == "/v1/payment_intents/search"
    assert fake_stripe.requests[-1]["query"]["query"] == "metadata['cdp_idempotency_key']:'ORD-9-a1'"
    assert gateway.find_charge(idempotency_key="it's-not-there") is None
    assert fake_stripe.requests[-1]["query"]["query"] == "metadata['cdp_idempotency_key']:'it\\'s-not-there'"
    assert gateway.find_charge(idempotency_key="x", transaction_id="pi_missing") is None  # 404 resource_missing
    waiting = gateway.charge(amount=D("3.00"), currency="USD", token="tok_threeDSecure2Required",
                             idempotency_key="ORD-9-a2")
    assert waiting.status == "pending"
    assert gateway.find_charge(idempotency_key="ORD-9-a2").status == "pending"


def test_lost_answer_is_an_unknown_outcome(fake_stripe):
    gateway = StripeGateway(base_url=fake_stripe.url, secret_key="sk_test_fake")
    with pytest.raises(GatewayUnavailable) as lost:
        gateway.charge(amount=D("3.00"), currency="USD", token="tok_lost_answer", idempotency_key="k-lost")
    assert lost.value.maybe_charged is True
    assert len(fake_stripe.charges) == 1  # it did charge
    # auth errors and a missing key are refused before anything happens
    with pytest.raises(GatewayUnavailable) as auth:
        StripeGateway(base_url=fake_stripe.url, secret_key="sk_wrong").charge(
            amount=D("1"), currency="USD", token="tok_visa", idempotency_key="k4")
    assert auth.value.maybe_charged is False
    with pytest.raises(GatewayUnavailable) as no_key:
        StripeGateway(base_url=fake_stripe.url, secret_key="").charge(
            amount=D("1"), currency="USD", token="tok_visa", idempotency_key="k5")
    assert no_key.value.maybe_charged is False


def test_checkout_through_the_stripe_gateway(world, owner_api, fake_stripe, settings, monkeypatch):
    # given the stripe gateway enabled at the fake server's URL, with its key in the environment
    settings.CDP_STRIPE_BASE_URL = fake_stripe.url
    settings.CDP_STRIPE_SECRET_KEY = "sk_test_fake"
    PaymentGateway.objects.filter(code="stripe").update(is_active=True)
    ProductFactory(sku="T-STRIPE", price=D("20.00"))
    payload = {"items": [{"sku": "T-STRIPE", "quantity": 2}], "payment": {"gateway": "stripe", "token": "tok_visa"}}
    # when paid
    response = owner_api().post("checkout/", payload)
    assert response.status_code == 201, response.content
    order = Order.objects.get(order_number=response.json()["order_number"])
    assert order.gateway_transaction_id.startswith("pi_fake_")
    assert fake_stripe.requests[-1]["headers"]["Idempotency-Key"] == f"{order.order_number}-a1"
    assert fake_stripe.requests[-1]["form"]["amount"] == "4000"
    assert order.attempts.get().status == "succeeded"
    # and declined
    payload["payment"]["token"] = "tok_chargeDeclined"
    declined = owner_api().post("checkout/", payload)
    assert declined.status_code == 402 and declined.json()["decline_code"] == "generic_decline"
    assert not Invoice.objects.filter(order__order_number=declined.json()["order"]["order_number"]).exists()


@pytest.fixture
def stripe_enabled(fake_stripe, settings, monkeypatch):
    settings.CDP_STRIPE_BASE_URL = fake_stripe.url
    settings.CDP_STRIPE_SECRET_KEY = "sk_test_fake"
    PaymentGateway.objects.filter(code="stripe").update(is_active=True)
    return fake_stripe


def test_answer_lost_after_the_charge_is_completed_by_the_reconciler(world, owner_api, stripe_enabled):
    # given a checkout whose charge went through at Stripe but whose answer never came back
    PlanProductFactory(sku="T-STRIPE-LOST", price=D("30.00"))
    payload = {"items": [{"sku": "T-STRIPE-LOST"}], "payment": {"gateway": "stripe", "token": "tok_lost_answer"}}
    response = owner_api().post("checkout/", payload)
    # then the client is told the outcome is being confirmed, and the order waits (not failed)
    assert response.status_code == 502 and response.json()["error"]["code"] == "gateway_unavailable"
    order = Order.objects.get(tenant=world.alpha, items__sku="T-STRIPE-LOST")
    attempt = order.attempts.get()
    assert order.status == "pending" and attempt.status == "pending" and attempt.transaction_id == ""
    # and a second subscription checkout is refused while it is unsettled (no second charge)
    again = owner_api().post("checkout/", {**payload, "payment": {"gateway": "stripe", "token": "tok_visa"}})
    assert again.status_code == 409 and again.json()["error"]["code"] == "checkout_in_progress"
    # when the reconciler runs (later), it finds the charge by its idempotency key and completes the order
    later = timezone.now() + datetime.timedelta(minutes=11)
    assert payments_reconcile(actor=Actor.system("tests"), now=later)["completed"] == 1
    order.refresh_from_db()
    attempt.refresh_from_db()
    assert order.status == "paid" and order.invoices.count() == 1 and order.subscription is not None
    assert attempt.status == "succeeded" and attempt.transaction_id == stripe_enabled.charges[0]["id"]
    assert len(stripe_enabled.charges) == 1
    # idempotent: another run changes nothing
    assert payments_reconcile(actor=Actor.system("tests"), now=later)["completed"] == 0


def test_unfulfillable_charge_is_refunded_at_stripe_and_retried_until_it_is(world, owner_api, stripe_enabled,
                                                                            monkeypatch):
    from billing.models import Subscription
    from billing.services import payments
    from tests.billing.factories import PaymentMethodFactory

    # given a subscription that appears between the checks and the fulfilment, and refunds failing
    PlanProductFactory(sku="T-STRIPE-LATE", price=D("30.00"))
    other = PlanProductFactory(sku="T-STRIPE-OTHER")
    real_charge = StripeGateway.charge

    def charge_while_someone_subscribes(self, **kwargs):
        result = real_charge(self, **kwargs)
        Subscription.objects.create(tenant=world.alpha, product=other, interval="month", price=other.price,
                                    current_period_start=timezone.now(), current_period_end=timezone.now(),
                                    payment_method=PaymentMethodFactory(tenant=world.alpha))
        return result

    monkeypatch.setattr(StripeGateway, "charge", charge_while_someone_subscribes)
    stripe_enabled.fail_refunds = True
    response = owner_api().post("checkout/", {"items": [{"sku": "T-STRIPE-LATE"}],
                                              "payment": {"gateway": "stripe", "token": "tok_visa"}})
    # then the client hears that the charge is being refunded; the attempt keeps the transaction id
    assert response.status_code == 409 and response.json()["error"]["code"] == "payment_refunded"
    order = Order.objects.get(order_number=response.json()["order"]["order_number"])
    attempt = order.attempts.get()
    assert attempt.status == "refund_pending" and attempt.transaction_id.startswith("pi_fake_")
    assert order.status == "pending" and "already has a subscription" in order.failure_reason
    assert not order.invoices.exists()
    # when Stripe accepts refunds again, the reconciler refunds it: once
    stripe_enabled.fail_refunds = False
    later = timezone.now() + datetime.timedelta(minutes=11)
    assert payments.payments_reconcile(actor=Actor.system("tests"), now=later)["refunded"] == 1
    order.refresh_from_db()
    attempt.refresh_from_db()
    assert order.status == "refunded" and order.refunded_amount == order.total
    assert attempt.status == PaymentAttempt.Status.REFUNDED and attempt.refund_id.startswith("re_fake_")
    [refund] = stripe_enabled.refunds.values()
    assert refund["payment_intent"] == attempt.transaction_id and refund["amount"] == 3000
    assert payments.payments_reconcile(actor=Actor.system("tests"), now=later)["refunded"] == 0


def test_a_renewal_whose_answer_is_lost_waits_for_the_reconciler_and_is_not_dunned(world, stripe_enabled):
    from billing.models import PaymentMethod, Subscription
    from billing.services import billing_cycle_run, order_checkout
    from tenants.models import AuditLog

    # given a subscription paid at Stripe, whose next renewal charge goes through but its answer is lost
    actor = Actor.system("tests")
    PlanProductFactory(sku="T-STRIPE-RENEW", price=D("30.00"), plan_code="starter", interval="month")
    order_checkout(tenant=world.alpha, items=[{"sku": "T-STRIPE-RENEW", "quantity": 1}], gateway_code="stripe",
                   token="tok_visa", actor=actor, save_payment_method=True)
    sub = Subscription.objects.get(tenant=world.alpha)
    PaymentMethod.objects.filter(pk=sub.payment_method_id).update(reference="tok_lost_answer")
    period_end = sub.current_period_end
    # when the billing cycle renews it
    billing_cycle_run(actor=actor, now=period_end)
    # then the card may have been charged: no dunning, no "payment failed", the attempt waits
    sub.refresh_from_db()
    assert sub.status == "active" and sub.failed_attempts == 0
    assert not AuditLog.objects.filter(action="subscription.payment_failed", resource_id=str(sub.pk)).exists()
    renewal = Order.objects.get(subscription=sub, kind="renewal")
    assert renewal.status == "pending" and renewal.attempts.get().status == "pending"
    # and the reconciler completes it: paid once, the period moves on
    assert payments_reconcile(actor=actor, now=period_end + datetime.timedelta(minutes=11))["completed"] == 1
    renewal.refresh_from_db()
    sub.refresh_from_db()
    assert renewal.status == "paid" and sub.current_period_end > period_end
    assert len(stripe_enabled.charges) == 2
