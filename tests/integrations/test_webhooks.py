"""Outgoing webhooks (signed, logged, retried, auto-disabled, redelivered, pinged) and the
inbound VTEX order hook (secret, duplicates harmless)."""

import hashlib
import hmac
import json

import pytest
from django_tenants.utils import tenant_context

from integrations.models import WebhookDelivery, WebhookEndpoint
from tests.conftest import api_client
from tests.integrations import fakes
from tests.integrations.conftest import days_ago, make_vtex_integration

SECRET = "whsec_test_receiver_secret_0001"


def endpoint_for(receiver, actor, events=("order.ingested", "customer.created")):
    from integrations.services import webhook_endpoint_create

    endpoint, _ = webhook_endpoint_create(url=f"{receiver.url}/hook", events=list(events), actor=actor, secret=SECRET)
    return endpoint


def order_record(n=1, email="ana@example.com"):
    return {"source": "shop", "external_order_id": f"o-{n}", "order_date": "2025-03-01T10:00:00-03:00",
            "total_amount": "100.00", "customer": {"email": email, "first_name": "Ana"}}


def verify(request) -> dict:
    """What a receiver does: recompute the HMAC over "{timestamp}.{raw body}"."""
    timestamp = request.headers["x-cdp-timestamp"]
    expected = "sha256=" + hmac.new(SECRET.encode(), f"{timestamp}.".encode() + request.body,
                                    hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, request.headers["x-cdp-signature"])
    return json.loads(request.body)


def test_ingest_events_reach_the_receiver_signed(in_alpha, receiver, actor, django_capture_on_commit_callbacks):
    from customers.services import order_ingest

    endpoint_for(receiver, actor)

    with django_capture_on_commit_callbacks(execute=True):
        order_ingest(records=[order_record()], actor=actor, tenant=in_alpha)

    received = {r.headers["x-cdp-event"]: verify(r) for r in receiver.hits("/hook")}
    assert set(received) == {"order.ingested", "customer.created"}
    body = received["order.ingested"]
    assert body["event"] == "order.ingested" and body["tenant"] == "alpha"
    assert body["data"]["outcome"] == "created" and body["data"]["order_id"]
    assert WebhookDelivery.objects.filter(status="success").count() == 2


def test_merge_sends_customer_merged_with_survivor_and_merged_ids(in_alpha, receiver, actor,
                                                                  django_capture_on_commit_callbacks):
    from customers.services import order_ingest
    from customers.services.merge import customer_merge

    order_ingest(records=[order_record(1, "ana@example.com"), order_record(2, "ana.b@example.com")],
                 actor=actor, tenant=in_alpha)
    from customers.models import Customer

    survivor = Customer.objects.get(email="ana@example.com")
    merged = Customer.objects.get(email="ana.b@example.com")
    endpoint_for(receiver, actor, events=("customer.merged",))

    with django_capture_on_commit_callbacks(execute=True):
        merge = customer_merge(survivor_id=survivor.pk, merged_id=merged.pk, actor=actor)

    received = [verify(r) for r in receiver.hits("/hook")]
    assert [body["event"] for body in received] == ["customer.merged"]
    assert received[0]["data"] == {"customer_id": survivor.pk, "merged_ids": [merged.pk], "merge_id": merge.pk}


def test_analytics_run_completed_reaches_the_receiver(in_alpha, receiver, actor, django_capture_on_commit_callbacks):
    import datetime

    from analytics.services import analytics_run

    endpoint_for(receiver, actor, events=("analytics.run_completed",))
    with django_capture_on_commit_callbacks(execute=True):
        job = analytics_run(tenant=in_alpha, actor=actor, as_of=datetime.date(2025, 6, 30), only=["rfm"])

    (body,) = [verify(r) for r in receiver.hits("/hook")]
    assert body["event"] == "analytics.run_completed" and body["tenant"] == "alpha"
    assert body["data"]["job_id"] == job.pk and body["data"]["status"] == "succeeded"


def test_unsubscribed_and_inactive_endpoints_get_nothing(in_alpha, receiver, actor):
    from integrations.services import webhook_emit

    endpoint_for(receiver, actor, events=["segment.entered"])
    off = endpoint_for(receiver, actor, events=["*"])
    WebhookEndpoint.objects.filter(pk=off.pk).update(is_active=False)

    assert webhook_emit(event="order.ingested", payload={"order_id": 1}) == []


def test_failures_retry_with_backoff_then_auto_disable(in_alpha, receiver, actor, settings):
    from integrations.services import webhook_delivery_attempt, webhook_emit

    settings.INTEGRATIONS_WEBHOOK_MAX_ATTEMPTS = 3
    settings.INTEGRATIONS_WEBHOOK_DISABLE_AFTER = 4
    settings.INTEGRATIONS_WEBHOOK_BACKOFF_BASE = 30
    receiver.routes.clear()
    receiver.route("POST", r"/hook", lambda request: fakes.Reply(500, {"error": "down"}))
    endpoint = endpoint_for(receiver, actor, events=["*"])

    first, = webhook_emit(event="segment.entered", payload={"customer_id": 1, "segment": "champions"})
    # exponential backoff: 30s, then 60s, then give up
    assert webhook_delivery_attempt(delivery_id=first) == 30
    assert webhook_delivery_attempt(delivery_id=first) == 60
    assert webhook_delivery_attempt(delivery_id=first) is None
    delivery = WebhookDelivery.objects.get(pk=first)
    assert delivery.status == "failed" and delivery.attempts == 3 and delivery.response_code == 500

    second, = webhook_emit(event="segment.left", payload={"customer_id": 1})
    assert webhook_delivery_attempt(delivery_id=second) is None  # 4th consecutive failure: disabled
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.disabled_at is not None
    assert webhook_emit(event="segment.left", payload={"customer_id": 2}) == []


def test_drain_task_retries_when_due_until_success(in_alpha, receiver, actor, settings):
    import datetime

    from django.utils import timezone

    from integrations.services import webhook_emit
    from integrations.tasks import webhook_drain_task

    settings.INTEGRATIONS_WEBHOOK_BACKOFF_BASE = 30
    answers = [fakes.Reply(503), fakes.Reply(502)]
    receiver.routes.clear()
    receiver.route("POST", r"/hook", lambda request: answers.pop(0) if answers else fakes.Reply(204))
    endpoint_for(receiver, actor, events=["churn.band_changed"])
    delivery_id, = webhook_emit(event="churn.band_changed", payload={"customer_id": 3, "band": "high"})

    # each failed attempt schedules the next one with an exponential backoff; the drain (the
    # tenant's worker task) sends what is due and leaves the rest for later
    for backoff in (30, 60):
        assert webhook_drain_task.delay().get() == 1  # eager in tests; beat and emits queue it for real
        delivery = WebhookDelivery.objects.get(pk=delivery_id)
        assert delivery.status == "retrying"
        assert backoff - 5 < (delivery.next_retry_at - timezone.now()).total_seconds() <= backoff
        assert webhook_drain_task.delay().get() == 0  # not due yet
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            next_retry_at=timezone.now() - datetime.timedelta(seconds=1))
    webhook_drain_task.delay()

    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.status == "success" and delivery.attempts == 3 and delivery.response_code == 204


def test_api_endpoints_redeliver_and_ping(world, receiver, api_key, django_capture_on_commit_callbacks):
    key = api_key(world.alpha, scopes=["read", "write", "integrations"])
    client = api_client("alpha.localhost", key)

    created = client.post("/api/v1/webhooks/", {"url": f"{receiver.url}/hook", "events": ["analytics.run_completed"]},
                          content_type="application/json")
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    endpoint_id = created.json()["id"]
    detail = client.get(f"/api/v1/webhooks/{endpoint_id}/")
    assert secret not in detail.content.decode() and "secret" not in detail.json()

    with django_capture_on_commit_callbacks(execute=True):
        ping = client.post(f"/api/v1/webhooks/{endpoint_id}/ping/")
    assert ping.status_code == 202 and ping.json()["status"] == "pending"  # queued, answered at once
    # the worker sent it after the request; its answer is in the delivery log
    logged = client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries/?event=webhook.ping").json()["results"]
    assert logged[0]["id"] == ping.json()["id"] and logged[0]["status"] == "success"
    assert logged[0]["response_code"] == 200
    request = receiver.hits("/hook")[-1]
    assert request.headers["x-cdp-event"] == "webhook.ping"

    with tenant_context(world.alpha):
        from integrations.services import webhook_emit

        with django_capture_on_commit_callbacks(execute=True):
            delivery_id, = webhook_emit(event="analytics.run_completed", payload={"run_id": 9})
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(f"/api/v1/webhooks/{endpoint_id}/redeliver/", {"delivery_id": delivery_id},
                            content_type="application/json")
    assert again.status_code == 202, again.content
    log = client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries/?event=analytics.run_completed").json()
    assert log["count"] == 2 and {d["status"] for d in log["results"]} == {"success"}
    assert len({d["event_id"] for d in log["results"]}) == 1  # a redelivery is the same event
    events = [r.headers["x-cdp-event-id"] for r in receiver.hits("/hook")[-2:]]
    assert events[0] == events[1]

    bad = client.post("/api/v1/webhooks/", {"url": "ftp://x", "events": ["nope"]}, content_type="application/json")
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {"url", "events"}
    assert client.delete(f"/api/v1/webhooks/{endpoint_id}/").status_code == 204


# --- inbound VTEX hook ---------------------------------------------------------------------------------

HOOK_SECRET = "hook-secret-alpha-0001"


def hook_post(client, integration_id, body, secret=HOOK_SECRET):
    return client.post(f"/api/v1/hooks/vtex/{integration_id}/", body, content_type="application/json",
                       HTTP_X_CDP_HOOK_SECRET=secret)


def test_inbound_vtex_hook_fetches_and_ingests_once(world, vtex, actor, django_capture_on_commit_callbacks):
    from django.test import Client

    from customers.models import Order

    with tenant_context(world.alpha):
        integration = make_vtex_integration(vtex, actor)
    detail = vtex.add(fakes.vtex_detail(7, created=days_ago(1), status="handling"))
    client = Client(HTTP_HOST="alpha.localhost")
    note = {"Domain": "Fulfillment", "OrderId": detail["orderId"], "State": "handling",
            "LastState": "ready-for-handling", "LastChange": "2026-01-01T00:00:00Z",
            "CurrentChange": "2026-01-01T00:00:01Z", "Origin": {"Account": "lojaalpha", "Key": "vtexappkey-x"}}

    # when VTEX notifies twice (duplicates happen)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            response = hook_post(client, integration.pk, note)
        assert response.status_code == 200 and response.json()["status"] == "queued"

    # then the order is fetched and ingested, once
    with tenant_context(world.alpha):
        assert Order.objects.filter(source="vtex", external_order_id=detail["orderId"]).count() == 1
        assert Order.objects.get(external_order_id=detail["orderId"]).status == "paid"
    assert len(vtex.hits(f"/api/oms/pvt/orders/{detail['orderId']}")) == 2

    # a cancellation notification updates the status; cancelled stays cancelled
    vtex.orders[detail["orderId"]]["status"] = "canceled"
    with django_capture_on_commit_callbacks(execute=True):
        hook_post(client, integration.pk, {**note, "State": "canceled"})
    with tenant_context(world.alpha):
        assert Order.objects.get(external_order_id=detail["orderId"]).status == "cancelled"


def test_inbound_hook_refuses_bad_secret_unknown_ids_and_other_tenants(world, vtex, actor):
    from django.test import Client

    with tenant_context(world.alpha):
        integration = make_vtex_integration(vtex, actor)
    alpha, beta = Client(HTTP_HOST="alpha.localhost"), Client(HTTP_HOST="beta.localhost")
    body = {"OrderId": "1-01", "State": "handling"}

    assert hook_post(alpha, integration.pk, body, secret="wrong").status_code == 403
    assert hook_post(alpha, integration.pk, body, secret="").status_code == 403
    assert hook_post(alpha, 999999, body).status_code == 403
    assert hook_post(beta, integration.pk, body).status_code == 403  # beta's schema has no such integration
    ping = hook_post(alpha, integration.pk, {"hookConfig": "ping"})
    assert ping.status_code == 200 and ping.json()["status"] == "pong"
    assert HOOK_SECRET not in ping.content.decode()
    assert not vtex.hits("/api/oms/pvt/orders/")


@pytest.mark.parametrize("event", ["customer.created", "customer.updated", "customer.merged", "order.ingested",
                                   "segment.entered", "segment.left", "churn.band_changed", "analytics.run_completed"])
def test_every_published_event_is_forwarded_to_webhooks(event):
    from analytics import registry as analytics_registry
    from customers import registry as customers_registry

    bus = customers_registry.bus if event in customers_registry.EVENTS else analytics_registry.bus
    assert any(h.__name__ == f"webhook_forward_{event.replace('.', '_')}" for h in bus.subscribers(event))


def test_inbound_hook_odd_input_is_refused_not_crashed(world, vtex, actor):
    from django.test import Client

    with tenant_context(world.alpha):
        integration = make_vtex_integration(vtex, actor)
    client = Client(HTTP_HOST="alpha.localhost")
    assert hook_post(client, 99999999999999999999999, {"OrderId": "1"}).status_code == 403
    assert hook_post(client, integration.pk, ["not", "an", "object"]).status_code == 400
    missing = hook_post(client, integration.pk, {"State": "handling"})
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "invalid_hook_payload"
    broken = client.post(f"/api/v1/hooks/vtex/{integration.pk}/", "{nope", content_type="application/json",
                         HTTP_X_CDP_HOOK_SECRET=HOOK_SECRET)
    assert broken.status_code == 400


# --- SSRF: endpoints must be public ------------------------------------------------------------------------

INTERNAL_URLS = ["http://127.0.0.1:8080/hook", "http://localhost/hook", "http://10.1.2.3/hook",
                 "http://192.168.0.10/hook", "http://169.254.169.254/latest/meta-data/", "http://[::1]/hook",
                 "http://[::ffff:127.0.0.1]/hook", "http://100.64.0.1/hook", "http://0.0.0.0/hook",
                 "http://[fe80::1]/hook"]


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_registration_refuses_internal_addresses(world, api_key, settings, url):
    settings.CDP_ALLOW_PRIVATE_URLS = False
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write", "integrations"]))

    answer = client.post("/api/v1/webhooks/", {"url": url, "events": ["*"]}, content_type="application/json")

    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert error["code"] == "unsafe_url" and "public address" in error["fields"]["url"][0]


def test_registration_accepts_public_addresses_and_refuses_internal_updates(world, api_key, settings):
    settings.CDP_ALLOW_PRIVATE_URLS = False
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write", "integrations"]))
    created = client.post("/api/v1/webhooks/", {"url": "https://93.184.215.14/hook", "events": ["*"]},
                          content_type="application/json")
    assert created.status_code == 201, created.content
    endpoint_id = created.json()["id"]

    moved = client.patch(f"/api/v1/webhooks/{endpoint_id}/", {"url": "http://10.0.0.7/hook"},
                         content_type="application/json")

    assert moved.status_code == 400 and set(moved.json()["error"]["fields"]) == {"url"}
    assert client.get(f"/api/v1/webhooks/{endpoint_id}/").json()["url"] == "https://93.184.215.14/hook"


def test_delivery_refuses_an_endpoint_that_now_resolves_inside(in_alpha, receiver, actor, settings):
    from integrations.services import webhook_delivery_attempt, webhook_emit, webhook_ping
    from integrations.services.webhooks import webhooks_drain

    # given an endpoint that passed registration, whose host now resolves to an internal address
    endpoint = endpoint_for(receiver, actor, events=["*"])
    settings.CDP_ALLOW_PRIVATE_URLS = False
    delivery_id, = webhook_emit(event="segment.entered", payload={"customer_id": 1})

    # when it is delivered, it is refused before any request, and the log says why
    countdown = webhook_delivery_attempt(delivery_id=delivery_id)

    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert countdown is not None and delivery.status == "retrying" and delivery.attempts == 1
    assert delivery.response_code is None and delivery.error.startswith("Refused:")
    assert "public address" in delivery.error
    ping = webhook_ping(endpoint_id=endpoint.pk, actor=actor)  # queued; the worker sends it
    webhooks_drain()
    ping.refresh_from_db()
    assert ping.status == "failed" and ping.error.startswith("Refused:")
    assert not receiver.hits("/hook")


def test_guarded_session_checks_the_address_each_connection_reached(receiver, settings):
    """DNS rebinding: the host may resolve elsewhere for the HTTP library than for our check, so
    the address actually connected to is checked too."""
    from integrations.http import UnsafeUrl, guarded_session

    settings.CDP_ALLOW_PRIVATE_URLS = False
    with guarded_session() as session, pytest.raises(UnsafeUrl):
        session.post(f"{receiver.url}/hook", data=b"{}", timeout=2)
    assert not receiver.hits("/hook")

    settings.CDP_ALLOW_PRIVATE_URLS = True
    with guarded_session() as session:
        assert session.post(f"{receiver.url}/hook", data=b"{}", timeout=2).status_code == 200
