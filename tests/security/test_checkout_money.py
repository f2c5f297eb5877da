"""Money safety of the checkout (issue #12 item 3; review C3, S7, C10's callback, C13's license keys).

- Racing subscription checkouts: one is paid, the others get a clean 409, the card is charged once.
- ``Idempotency-Key``: the same key and body get the first answer again (one charge), another body
  gets 409, a key still in use gets 409, keys are per tenant and per principal.
- The portal's Buy form carries a key generated when the page renders: a double click or a
  refresh-resubmit buys once; issued license keys are shown on that response, never kept in the session.
- A crash right after the charge leaves an attempt the reconciler completes or refunds; a charge
  that cannot be fulfilled is refunded, and the order says why.
- The public payment callback answers 4xx to any malformed signature header or body, never 500.

The concurrent tests use threads, each with its own database connection, that commit; they clean
up what they committed (tests/billing/committed.py).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import threading
import time
from decimal import Decimal as D

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.gateways import SandboxGateway
from billing.models import Order, PaymentAttempt, Subscription
from cdp.context import Actor
from licensing import store
from licensing.models import License
from tests.billing.committed import purge_billing, snapshot
from tests.threads import concurrently, in_thread
from tests.billing.factories import PaymentMethodFactory, PlanProductFactory, ProductFactory

ACTOR = Actor.system("tests")


def _charges():
    """What the sandbox gateway charged (it records charges by idempotency key)."""
    from billing.models import SandboxCharge  # imported late: so that on the old code each test fails on its own

    return SandboxCharge.objects
CHECKOUT = "/api/v1/billing/checkout/"
THREADS = 6
LATER = datetime.timedelta(minutes=11)  # past BILLING_RECONCILE_AFTER_MINUTES


@pytest.fixture(autouse=True)
def _clean_licensing_redis():
    """Checkouts issue licenses, which touch the licensing cache (not rolled back with the test)."""
    store.clear_all()
    yield
    store.clear_all()


def _payload(sku: str, token: str = "tok_visa", quantity: int = 1) -> dict:
    return {"items": [{"sku": sku, "quantity": quantity}], "payment": {"gateway": "sandbox", "token": token}}


def _post(client: Client, payload: dict, key: str | None = None):
    extra = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(CHECKOUT, json.dumps(payload), content_type="application/json", **extra)


def _owner(world, tenant=None) -> Client:
    tenant = tenant or world.alpha
    client = Client(HTTP_HOST=f"{tenant.slug}.localhost", raise_request_exception=False)
    client.force_login(world.user(f"{tenant.slug}_owner"))
    return client


def _committed_key(tenant) -> tuple[int, str]:
    from tenants.services import api_key_create

    issued = api_key_create(tenant=tenant, name="race", scopes=["read", "billing"], actor=ACTOR)
    return issued.api_key.pk, issued.key


# --- The race (C3) ---------------------------------------------------------------------------------


def test_six_concurrent_subscription_checkouts_with_different_keys_charge_once(world):
    # given a plan product and an API key with the billing scope, both committed
    before = snapshot()
    sku = "T-SEC-RACE"
    key_id, secret = in_thread(lambda: (PlanProductFactory(sku=sku, price=D("99.00")), _committed_key(world.beta))[1])
    try:
        def buy(n):
            def run(barrier):
                client = Client(HTTP_HOST="beta.localhost", HTTP_AUTHORIZATION=f"Api-Key {secret}",
                                raise_request_exception=False)
                barrier.wait(timeout=30)
                response = _post(client, _payload(sku), key=f"race-{n}")
                return response.status_code, response.json()
            return run

        # when six checkouts race, each with its own idempotency key
        results = concurrently([buy(n) for n in range(THREADS)])

        # then one is paid and five get a clean 409 (no 500), and the card is charged once
        assert not [r for r in results if isinstance(r, BaseException)], results
        assert sorted(status for status, _ in results) == [201] + [409] * (THREADS - 1), results
        codes = {body["error"]["code"] for status, body in results if status == 409}
        assert codes <= {"subscription_exists", "checkout_in_progress"}, codes

        def check():
            orders = Order.objects.filter(tenant=world.beta, created_at__gte=before["since"])
            assert [o.status for o in orders] == ["paid"]
            assert _charges().filter(created_at__gte=before["since"]).count() == 1
            assert PaymentAttempt.objects.filter(order__in=orders).get().status == "succeeded"
            assert Subscription.objects.filter(tenant=world.beta).exclude(status="cancelled").count() == 1
            return True

        assert in_thread(check)
    finally:
        purge_billing(tenants=[world.beta], skus=[sku], before=before, api_key_ids=[key_id])


def test_six_concurrent_checkouts_with_the_same_key_charge_once_and_answer_alike(world, settings):
    # given a one-time product that issues a perpetual license (its key is in the answer)
    settings.BILLING_IDEMPOTENCY_WAIT_SECONDS = 120  # the waiters wait for the first answer
    before = snapshot()
    sku = "T-SEC-SAMEKEY"
    key_id, secret = in_thread(lambda: (ProductFactory(sku=sku, price=D("25.00"), plan_code="starter"),
                                        _committed_key(world.beta))[1])
    try:
        def buy(barrier):
            client = Client(HTTP_HOST="beta.localhost", HTTP_AUTHORIZATION=f"Api-Key {secret}",
                            raise_request_exception=False)
            barrier.wait(timeout=30)
            response = _post(client, _payload(sku), key="one-purchase-7f3c")
            return response.status_code, response.content, response.get("Idempotent-Replayed")

        # when the same request is sent six times at once (a client retrying, a double click)
        results = concurrently([buy] * THREADS)

        # then one purchase, and every caller gets the same answer, five of them marked as replays
        assert not [r for r in results if isinstance(r, BaseException)], results
        assert {status for status, _, _ in results} == {201}, results
        assert len({content for _, content, _ in results}) == 1
        assert sorted(str(replayed) for _, _, replayed in results) == ["None"] + ["true"] * (THREADS - 1)
        body = json.loads(results[0][1])
        assert body["status"] == "paid" and len(body["licenses"]) == 1 and body["licenses"][0]["key"]

        def check():
            assert Order.objects.filter(tenant=world.beta, created_at__gte=before["since"]).count() == 1
            assert _charges().filter(created_at__gte=before["since"]).count() == 1
            return True

        assert in_thread(check)
    finally:
        purge_billing(tenants=[world.beta], skus=[sku], before=before, api_key_ids=[key_id])


# --- Idempotency-Key semantics (S7) ------------------------------------------------------------------


def test_same_key_replays_the_first_answer_and_a_one_time_product_is_charged_once(world, api_key):
    ProductFactory(sku="T-SEC-ONCE", price=D("12.00"))
    owner = _owner(world)
    # when the same purchase of a one-time product is sent twice with one key
    first = _post(owner, _payload("T-SEC-ONCE"), key="buy-once-1")
    second = _post(owner, _payload("T-SEC-ONCE"), key="buy-once-1")
    # then the second gets the first answer again, marked as a replay, and one charge was made
    assert first.status_code == second.status_code == 201, first.content
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert second["Idempotency-Key"] == "buy-once-1"
    orders = Order.objects.filter(tenant=world.alpha, items__sku="T-SEC-ONCE")
    assert orders.count() == 1
    assert _charges().filter(idempotency_key__startswith=f"{orders.get().order_number}-a").count() == 1

    # the same key with another body is refused, clearly
    other = _post(owner, _payload("T-SEC-ONCE", quantity=2), key="buy-once-1")
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"

    # keys are per principal and per tenant: the same key elsewhere is another purchase
    from tests.conftest import api_client

    by_key = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "billing"]))
    assert _post(by_key, _payload("T-SEC-ONCE"), key="buy-once-1").status_code == 201
    assert _post(_owner(world, world.beta), _payload("T-SEC-ONCE"), key="buy-once-1").status_code == 201
    assert Order.objects.filter(items__sku="T-SEC-ONCE").count() == 3

    # a declined answer is kept too
    declined = _post(owner, _payload("T-SEC-ONCE", token="tok_chargeDeclined"), key="buy-once-2")
    again = _post(owner, _payload("T-SEC-ONCE", token="tok_chargeDeclined"), key="buy-once-2")
    assert declined.status_code == again.status_code == 402 and again.content == declined.content
    assert again["Idempotent-Replayed"] == "true"

    # an unusable key is a 400 that says so, and nothing is bought
    for bad in ("", "é" * 3, "k" * 256, "two words"):
        response = _post(owner, _payload("T-SEC-ONCE"), key=bad)
        assert response.status_code == 400 and response.json()["error"]["code"] == "idempotency_key_invalid", bad
    assert Order.objects.filter(items__sku="T-SEC-ONCE").count() == 4


def test_a_key_still_in_use_gets_409_idempotency_in_progress(world, settings):
    from billing.services.idempotency import idempotency_lock_id

    settings.BILLING_IDEMPOTENCY_WAIT_SECONDS = 0
    ProductFactory(sku="T-SEC-BUSY", price=D("5.00"))
    owner = world.user("alpha_owner")
    key = "busy-key-1"
    lock_id = idempotency_lock_id(world.alpha.pk, f"user:{owner.pk}", "checkout", hashlib.sha256(key.encode()).hexdigest())
    held, release = threading.Event(), threading.Event()

    def first_request_still_running():  # holds the key's lock, as the request running it does
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [lock_id])
        held.set()
        release.wait(timeout=60)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_id])

    thread = threading.Thread(target=lambda: (first_request_still_running(), connection.close()))
    thread.start()
    try:
        assert held.wait(timeout=30)
        busy = _post(_owner(world), _payload("T-SEC-BUSY"), key=key)
        assert busy.status_code == 409 and busy.json()["error"]["code"] == "idempotency_in_progress"
        assert not Order.objects.filter(items__sku="T-SEC-BUSY").exists()
    finally:
        release.set()
        thread.join(timeout=60)
    assert _post(_owner(world), _payload("T-SEC-BUSY"), key=key).status_code == 201


def test_the_keys_lock_is_held_on_a_connection_of_its_own_not_djangos(world):
    # behind a transaction pooler Django's statements may reach any server connection: a session
    # lock taken through it could be released on another one, or never
    from billing.services.idempotency import idempotent_run

    seen = {}

    def execute(record_id):
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FILTER (WHERE pid = pg_backend_pid()), count(*) FROM pg_locks "
                           "WHERE locktype = 'advisory' AND granted AND database = "
                           "(SELECT oid FROM pg_database WHERE datname = current_database())")
            seen["django"], seen["all"] = cursor.fetchone()
        return 200, {"ok": True}

    answer = idempotent_run(tenant=world.alpha, principal="user:1", operation="test", key="own-connection-1",
                            params={"a": 1}, execute=execute, recover=lambda order: None)

    assert answer.status == 200 and seen == {"django": 0, "all": 1}

    def locks_left():  # released when the server ends the lock's session, just after it closes
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                           "(SELECT oid FROM pg_database WHERE datname = current_database())")
            return cursor.fetchone()[0]

    deadline = time.monotonic() + 10
    while locks_left() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert locks_left() == 0


# --- Portal: double submit and license keys (C13) -----------------------------------------------------


def _buy_form(client: Client) -> dict:
    page = client.get("/billing/").content.decode()
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    return {"sku": "T-SEC-PORTAL", "token": "tok_visa", "coupon": "", "idempotency_key": key}


def test_portal_resubmit_buys_once_and_keeps_no_license_key_in_the_session(world):
    ProductFactory(sku="T-SEC-PORTAL", price=D("40.00"), plan_code="starter")
    client = _owner(world)
    form = _buy_form(client)
    # when the form is submitted, then submitted again (refresh-resubmit, or a second click)
    first = client.post("/billing/buy/", form)
    second = client.post("/billing/buy/", form)
    # then one order and one charge; both answers show the same order and the same license key
    orders = Order.objects.filter(tenant=world.alpha, items__sku="T-SEC-PORTAL")
    assert orders.count() == 1 and orders.get().status == "paid"
    assert _charges().filter(idempotency_key__startswith=f"{orders.get().order_number}-a").count() == 1
    keys = [re.findall(r"data-license-key>([^<]+)<", r.content.decode()) for r in (first, second)]
    assert keys[0] and keys[0] == keys[1]
    assert first.status_code == second.status_code == 201
    assert f'data-purchase-order="{orders.get().order_number}"' in second.content.decode()
    assert "no-store" in first["Cache-Control"]
    # and the key is in no session and on no later page
    from django.contrib.sessions.models import Session

    assert not [s for s in Session.objects.all() if keys[0][0] in json.dumps(s.get_decoded())]
    assert keys[0][0] not in client.get("/billing/").content.decode()
    # a new page render gives a new form key: a deliberate second purchase is possible
    assert _buy_form(client)["idempotency_key"] != form["idempotency_key"]


def test_portal_double_click_buys_once(world, settings):
    settings.BILLING_IDEMPOTENCY_WAIT_SECONDS = 120
    before = snapshot()
    in_thread(lambda: ProductFactory(sku="T-SEC-PORTAL", price=D("40.00")))
    try:
        client = Client(HTTP_HOST="alpha.localhost", raise_request_exception=False)
        in_thread(lambda: client.force_login(world.user("alpha_owner")))
        form = in_thread(lambda: _buy_form(client))

        def click(barrier):
            barrier.wait(timeout=30)
            response = client.post("/billing/buy/", form)
            return response.status_code, re.search(r'data-purchase-order="([^"]+)"', response.content.decode()).group(1)

        results = concurrently([click, click])
        assert not [r for r in results if isinstance(r, BaseException)], results
        assert results[0] == results[1] and results[0][0] == 201

        def check():
            assert Order.objects.filter(tenant=world.alpha, created_at__gte=before["since"]).count() == 1
            assert _charges().filter(created_at__gte=before["since"]).count() == 1
            client.logout()
            return True

        assert in_thread(check)
    finally:
        purge_billing(tenants=[world.alpha], skus=["T-SEC-PORTAL"], before=before)


# --- Crash recovery ---------------------------------------------------------------------------------------


class Crash(Exception):
    """The process dies between the gateway's answer and recording it."""


@pytest.fixture
def crash_after_charge(monkeypatch):
    real = SandboxGateway.charge

    def charge_then_die(self, **kwargs):
        real(self, **kwargs)
        raise Crash("worker killed after the charge")

    monkeypatch.setattr(SandboxGateway, "charge", charge_then_die)
    return lambda: monkeypatch.setattr(SandboxGateway, "charge", real)


def _reconcile(now):
    from billing.services import payments_reconcile

    return payments_reconcile(actor=ACTOR, now=now)


def test_crash_right_after_the_charge_is_completed_by_the_reconciler(world, crash_after_charge):
    from billing.services import order_checkout

    PlanProductFactory(sku="T-SEC-CRASH", price=D("49.00"))
    with pytest.raises(Crash):
        order_checkout(tenant=world.alpha, items=[{"sku": "T-SEC-CRASH"}], gateway_code="sandbox", token="tok_visa",
                       actor=ACTOR)
    order = Order.objects.get(tenant=world.alpha, items__sku="T-SEC-CRASH")
    attempt = order.attempts.get()
    # the intent was recorded before the charge: the attempt exists, without a result
    assert (order.status, attempt.status, attempt.transaction_id) == ("pending", "pending", "")
    charge = _charges().get(idempotency_key=attempt.idempotency_key)
    # too recent: the request that made it might still be running
    assert _reconcile(timezone.now())["completed"] == 0
    # later, the reconciler finds the charge by the idempotency key and completes the order
    assert _reconcile(timezone.now() + LATER)["completed"] == 1
    order.refresh_from_db()
    attempt.refresh_from_db()
    assert order.status == "paid" and order.gateway_transaction_id == charge.transaction_id
    assert attempt.status == "succeeded" and attempt.transaction_id == charge.transaction_id
    assert order.invoices.count() == 1
    assert Subscription.objects.get(tenant=world.alpha).status == "active"
    assert License.objects.filter(tenant=world.alpha).count() == 1
    # and it is idempotent
    assert _reconcile(timezone.now() + LATER)["completed"] == 0
    assert order.invoices.count() == 1
    assert _charges().filter(idempotency_key__startswith=f"{order.order_number}-a").count() == 1


def test_crash_then_a_live_subscription_means_the_charge_is_refunded(world, crash_after_charge):
    from billing.services import order_checkout

    product = PlanProductFactory(sku="T-SEC-CRASH2", price=D("49.00"))
    with pytest.raises(Crash):
        order_checkout(tenant=world.alpha, items=[{"sku": "T-SEC-CRASH2"}], gateway_code="sandbox",
                       token="tok_visa", actor=ACTOR)
    # meanwhile the tenant got a live subscription (e.g. set up by staff)
    Subscription.objects.create(tenant=world.alpha, product=product, interval="month", price=product.price,
                                current_period_start=timezone.now(), current_period_end=timezone.now() + LATER)
    assert _reconcile(timezone.now() + LATER)["refunded"] == 1
    order = Order.objects.get(tenant=world.alpha, items__sku="T-SEC-CRASH2", subscription=None)
    attempt = order.attempts.get()
    charge = _charges().get(idempotency_key=attempt.idempotency_key)
    assert order.status == "refunded" and order.refunded_amount == order.total
    assert "already has a subscription" in order.failure_reason
    assert attempt.status == "refunded" and attempt.transaction_id == charge.transaction_id and attempt.refund_id
    assert charge.amount_refunded == charge.amount
    assert not order.invoices.exists()
    assert _reconcile(timezone.now() + LATER)["refunded"] == 0  # refunded once
    assert charge.refunds.count() == 1


def test_crash_between_recording_the_charge_and_fulfilment_is_completed(world, monkeypatch):
    from billing.services import order_checkout, payments

    ProductFactory(sku="T-SEC-CRASH3", price=D("8.00"))

    def db_went_away(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(payments, "order_finalize", db_went_away)
    with pytest.raises(OperationalError):
        order_checkout(tenant=world.alpha, items=[{"sku": "T-SEC-CRASH3"}], gateway_code="sandbox",
                       token="tok_visa", actor=ACTOR)
    monkeypatch.undo()
    order = Order.objects.get(tenant=world.alpha, items__sku="T-SEC-CRASH3")
    attempt = order.attempts.get()
    # the charge's result was recorded in its own transaction first
    assert order.status == "pending" and attempt.status == "succeeded" and attempt.transaction_id
    assert _reconcile(timezone.now() + LATER)["completed"] == 1
    order.refresh_from_db()
    assert order.status == "paid" and order.gateway_transaction_id == attempt.transaction_id


def test_crash_during_an_api_checkout_then_retrying_the_key_never_charges_twice(world, crash_after_charge):
    PlanProductFactory(sku="T-SEC-CRASH4", price=D("49.00"))
    owner = _owner(world)
    # when the process dies after the charge, the client sees an error
    crashed = _post(owner, _payload("T-SEC-CRASH4"), key="retry-after-crash")
    assert crashed.status_code == 500
    crash_after_charge()  # the next process is healthy
    # then retrying with the same key does not charge again while the outcome is being confirmed
    retry = _post(owner, _payload("T-SEC-CRASH4"), key="retry-after-crash")
    assert retry.status_code == 409 and retry.json()["error"]["code"] == "idempotency_in_progress"
    [order] = Order.objects.filter(items__sku="T-SEC-CRASH4")
    charges = _charges().filter(idempotency_key__startswith=f"{order.order_number}-a")
    assert charges.count() == 1
    # and once the reconciler completed the order, the key answers with it
    assert _reconcile(timezone.now() + LATER)["completed"] == 1
    done = _post(owner, _payload("T-SEC-CRASH4"), key="retry-after-crash")
    assert done.status_code == 201 and done["Idempotent-Replayed"] == "true"
    assert done.json()["status"] == "paid" and done.json()["licenses"] == []
    assert charges.count() == 1 and Order.objects.filter(items__sku="T-SEC-CRASH4").count() == 1


def test_a_charge_that_cannot_be_fulfilled_is_refunded_and_answered_409(world, monkeypatch):
    # given a live subscription that appears after the checks, between the charge and the fulfilment
    PlanProductFactory(sku="T-SEC-LATE", price=D("49.00"))
    other = PlanProductFactory(sku="T-SEC-OTHER")
    real = SandboxGateway.charge

    def charge_while_someone_subscribes(self, **kwargs):
        result = real(self, **kwargs)
        Subscription.objects.create(tenant=world.alpha, product=other, interval="month", price=other.price,
                                    current_period_start=timezone.now(), current_period_end=timezone.now() + LATER,
                                    payment_method=PaymentMethodFactory(tenant=world.alpha))
        return result

    monkeypatch.setattr(SandboxGateway, "charge", charge_while_someone_subscribes)
    response = _post(_owner(world), _payload("T-SEC-LATE"))
    # then no 500: a 409 that says the charge was refunded, with the order
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["error"]["code"] == "payment_refunded" and "refunded" in body["error"]["message"]
    order = Order.objects.get(order_number=body["order"]["order_number"])
    attempt = order.attempts.get()
    assert order.status == "refunded" and "already has a subscription" in order.failure_reason
    assert attempt.status == "refunded" and attempt.transaction_id and attempt.refund_id
    assert _charges().get(transaction_id=attempt.transaction_id).amount_refunded == order.total


# --- Public callback: malformed input is a 4xx (C10) -------------------------------------------------------


CALLBACK = "/api/v1/billing/callbacks/sandbox/"


def _callback(body: bytes, signature: str | None, path: str = CALLBACK):
    client = Client(HTTP_HOST="localhost", raise_request_exception=False)
    extra = {"HTTP_X_CDP_SIGNATURE": signature} if signature is not None else {}
    return client.post(path, body, content_type="application/json", **extra)


def test_callback_with_a_non_ascii_signature_is_400(world):
    response = _callback(b'{"id": "evt_1"}', "\xe9t\xe9")
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_signature"


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=st.one_of(st.binary(max_size=300),
                      st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=300),
                                   lambda inner: st.lists(inner, max_size=3)
                                   | st.dictionaries(st.sampled_from(["id", "type", "data", "object", "metadata",
                                                                      "cdp_idempotency_key", "x"]), inner, max_size=4),
                                   max_leaves=12).map(lambda v: json.dumps(v).encode())),
       signature=st.one_of(st.none(), st.just("valid"), st.text(alphabet=st.characters(max_codepoint=0xFF),
                                                                max_size=80)),
       gateway=st.sampled_from(["sandbox", "stripe", "nope"]))
def test_fuzzed_callbacks_are_answered_without_a_server_error(world, body, signature, gateway):
    from billing.api.views import callback_signature

    if signature == "valid":
        signature = callback_signature(body)
    response = _callback(body, signature, f"/api/v1/billing/callbacks/{gateway}/")
    assert response.status_code < 500, (body, signature, response.content[:300])
    if response.status_code >= 400:
        assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_signed_events_with_unusable_fields_are_400(world):
    from billing.api.views import callback_signature

    for event in ({"id": "e" * 300, "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_1"}}},
                  {"id": "evt\x00", "type": "payment_intent.succeeded", "data": {"object": {"id": "pi_1"}}},
                  {"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {"id": ["pi_1"]}}},
                  {"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": "pi_1"}},
                  {"id": "evt_1", "type": True, "data": {"object": {"id": "pi_1"}}},
                  [1, 2, 3]):
        body = json.dumps(event).encode()
        response = _callback(body, callback_signature(body))
        assert response.status_code == 400, event
    deep = b"[" * 100000 + b"]" * 100000
    assert _callback(deep, callback_signature(deep)).status_code == 400
