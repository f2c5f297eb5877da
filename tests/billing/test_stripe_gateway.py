"""The Stripe-style adapter against a local fake server speaking the PaymentIntents wire format
(form-encoded bodies, Bearer key, Idempotency-Key, 402 card errors). Our client is not patched."""

from __future__ import annotations

import json
import threading
from decimal import Decimal as D
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from billing.gateways import GatewayUnavailable, StripeGateway
from billing.models import Invoice, Order, PaymentGateway
from tests.billing.factories import ProductFactory

DECLINES = {"tok_chargeDeclined": "generic_decline", "tok_chargeDeclinedInsufficientFunds": "insufficient_funds"}


class FakeStripe:
    """Enough of Stripe: POST /v1/payment_intents and /v1/refunds, replaying by Idempotency-Key."""

    def __init__(self):
        self.requests: list[dict] = []
        self.replies: dict[str, tuple[int, dict]] = {}
        self.counter = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                fake.requests.append({"path": self.path, "headers": dict(self.headers), "form": form})
                status, body = fake.handle(self.path, self.headers, form)
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def handle(self, path, headers, form):
        if headers.get("Authorization") != "Bearer sk_test_fake":
            return 401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}
        key = headers.get("Idempotency-Key")
        if key in self.replies:
            return self.replies[key]
        self.counter += 1
        if path == "/v1/payment_intents":
            token = form.get("payment_method_data[card][token]") or form.get("payment_method", "")
            intent = {"id": f"pi_fake_{self.counter}", "object": "payment_intent", "amount": int(form["amount"]),
                      "currency": form["currency"], "metadata": {k[9:-1]: v for k, v in form.items()
                                                                 if k.startswith("metadata[")}}
            if token in DECLINES:
                reply = (402, {"error": {"type": "card_error", "code": "card_declined",
                                         "decline_code": DECLINES[token], "message": "Your card was declined.",
                                         "payment_intent": {**intent, "status": "requires_payment_method"}}})
            elif token == "tok_boom":
                reply = (500, {"error": {"type": "api_error", "message": "Something went wrong"}})
            else:
                reply = (200, {**intent, "status": "succeeded", "latest_charge": {
                    "id": f"ch_fake_{self.counter}", "payment_method_details": {"card": {
                        "brand": "visa", "last4": "4242", "exp_month": 8, "exp_year": 2031}}}})
        elif path == "/v1/refunds":
            reply = (200, {"id": f"re_fake_{self.counter}", "object": "refund", "status": "succeeded",
                           "amount": int(form["amount"]), "payment_intent": form["payment_intent"]})
        else:
            reply = (404, {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}})
        self.replies[key] = reply
        return reply

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


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
    again = gateway.charge(amount=D("325.60"), currency="USD", token="tok_visa", idempotency_key="ORD-1-a1")
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


def test_refund(fake_stripe):
    result = StripeGateway(base_url=fake_stripe.url, secret_key="sk_test_fake").refund(
        transaction_id="pi_fake_9", amount=D("5.5"), idempotency_key="r1")
    assert result.status == "succeeded"
    assert fake_stripe.requests[0]["form"] == {"payment_intent": "pi_fake_9", "amount": "550"}


def test_checkout_through_the_stripe_gateway(world, owner_api, fake_stripe, settings, monkeypatch):
    # given the stripe gateway enabled at the fake server's URL, with its key in the environment
    settings.CDP_STRIPE_BASE_URL = fake_stripe.url
    monkeypatch.setenv("CDP_STRIPE_SECRET_KEY", "sk_test_fake")
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
    # and declined
    payload["payment"]["token"] = "tok_chargeDeclined"
    declined = owner_api().post("checkout/", payload)
    assert declined.status_code == 402 and declined.json()["decline_code"] == "generic_decline"
    assert not Invoice.objects.filter(order__order_number=declined.json()["order"]["order_number"]).exists()
