"""Outbound HTTP cannot be used to hold our threads or fill our memory (review C4, S1, S3).

Hostile receivers on 127.0.0.1 (``outbound_servers.HostileServer``) drip, stall or flood. Every
outbound path of the product is checked against them: webhook deliveries and pings, connector
syncs, CRM pushes and the payment gateway. Then the web tier: a ping answers at once, and a live
server with a few threads, like gunicorn's, keeps serving another tenant while pings hang. No
assertion is on timing: a call is judged by whether the hostile server saw it hang up before its
answer was over."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import requests
from django_tenants.utils import tenant_context
from safedelete import HARD_DELETE

from cdp.context import Actor
from integrations.models import WebhookDelivery
from tests.conftest import api_client
from tests.integrations.fakes import FakeServer, Reply, clear_outbound_keys
from tests.security.outbound_servers import HostileServer

SECRET = "whsec_security_receiver_0001"


@pytest.fixture(autouse=True)
def _outbound_settings(settings):
    settings.CDP_FORBID_OUTBOUND_IN_REQUESTS = True
    settings.INTEGRATIONS_WEBHOOK_TIMEOUT = 1.0  # the whole delivery, wall clock
    settings.INTEGRATIONS_HTTP_TIMEOUT = 0.8  # per read: longer than the drip interval, so only a total deadline helps
    settings.INTEGRATIONS_HTTP_DEADLINE = 1.0
    settings.INTEGRATIONS_HTTP_MAX_RETRIES = 0
    settings.INTEGRATIONS_HTTP_BACKOFF_BASE = 0.01
    clear_outbound_keys()
    yield
    clear_outbound_keys()


@pytest.fixture
def in_alpha(world):
    with tenant_context(world.alpha):
        yield world.alpha


@pytest.fixture
def hostile():
    servers = []

    def start(mode, **kwargs):
        server = HostileServer(mode, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def endpoint_at(url, actor):
    from integrations.services import webhook_endpoint_create

    endpoint, _ = webhook_endpoint_create(url=url, events=["*"], actor=actor, secret=SECRET)
    return endpoint


# --- webhook deliveries: total deadline, body cap, bounded log ------------------------------------------

@pytest.mark.parametrize("mode", ["drip-body", "drip-headers"])
def test_a_dripping_receiver_is_cut_at_the_total_deadline(in_alpha, hostile, actor, mode):
    from integrations.services import webhook_delivery_attempt, webhook_emit

    # given a receiver that answers one byte at a time, each well within the per-read timeout
    server = hostile(mode)
    endpoint_at(f"{server.url}/hook", actor)
    delivery_id, = webhook_emit(event="segment.entered", payload={"customer_id": 1})

    # when the delivery is attempted
    webhook_delivery_attempt(delivery_id=delivery_id)

    # then we hung up at the deadline instead of sitting through the drip, and the log says so
    assert server.wait_handled()
    assert server.hung_up and not server.completed
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.status == "retrying" and delivery.response_code is None
    assert delivery.error == "No complete answer within 1s."


def test_a_huge_answer_is_cut_at_the_cap_and_the_log_keeps_an_excerpt(in_alpha, hostile, actor):
    from integrations.services import webhook_delivery_attempt, webhook_emit

    server = hostile("flood", size=32 * 1024 * 1024)
    endpoint_at(f"{server.url}/hook", actor)
    delivery_id, = webhook_emit(event="segment.entered", payload={"customer_id": 1})

    webhook_delivery_attempt(delivery_id=delivery_id)

    # we stopped reading at the cap: the receiver could not push its 32 MiB into us
    assert server.wait_handled()
    assert server.hung_up and not server.completed and server.bytes_sent < 32 * 1024 * 1024
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.status == "retrying" and delivery.response_code == 200
    assert delivery.error == "The answer is larger than 65536 bytes; stopped reading."
    assert 0 < len(delivery.response_body) <= 500


def test_the_delivery_log_keeps_a_bounded_excerpt_of_a_normal_answer(in_alpha, actor, settings):
    from integrations.services import webhook_delivery_attempt, webhook_emit

    settings.INTEGRATIONS_WEBHOOK_MAX_RESPONSE_BYTES = 1024 * 1024
    receiver = FakeServer()
    receiver.route("POST", r"/hook", lambda request: Reply(200, b"x" * 200_000, {"Content-Type": "text/plain"}))
    receiver.start()
    try:
        endpoint_at(f"{receiver.url}/hook", actor)
        delivery_id, = webhook_emit(event="segment.entered", payload={"customer_id": 1})
        webhook_delivery_attempt(delivery_id=delivery_id)
    finally:
        receiver.stop()

    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    assert delivery.status == "success" and len(delivery.response_body) == 500


# --- connectors and CRM pushes -----------------------------------------------------------------------------

def test_a_dripping_source_is_cut_at_the_total_deadline(in_alpha, hostile, actor):
    from integrations.services import integration_create, integration_sync

    server = hostile("drip-body", body=b'{"list": [], "paging": {"pages": 1}}')
    integration = integration_create(integration_type="vtex", account_name="drip", base_url=server.url, actor=actor,
                                     credentials={"app_key": "k-0001", "app_token": "t-0001"})

    log = integration_sync(integration_id=integration.pk)

    assert server.wait_handled()
    assert server.hung_up and not server.completed
    assert log.status == "error" and log.error_code == "source_timeout"
    assert "no complete answer within 1s" in log.error


def test_a_huge_source_answer_is_cut_at_the_cap(in_alpha, hostile, actor, settings):
    from integrations.services import integration_create, integration_sync

    settings.INTEGRATIONS_HTTP_MAX_BYTES = 1024 * 1024
    server = hostile("flood", size=32 * 1024 * 1024)
    integration = integration_create(integration_type="facebook_ads", account_name="flood", base_url=server.url,
                                     config={"ad_account_id": "1"}, actor=actor, credentials={"access_token": "a"})

    log = integration_sync(integration_id=integration.pk)

    assert server.wait_handled()
    assert server.hung_up and not server.completed and server.bytes_sent < 32 * 1024 * 1024
    assert log.status == "error" and log.error_code == "source_bad_response"
    assert "larger than 1048576 bytes" in log.error


def test_a_crm_that_drips_its_answer_does_not_hold_the_push(in_alpha, hostile, actor):
    from customers.services import customer_create
    from integrations.services import integration_create, integration_sync

    customer_create(data={"email": "ana@example.com", "first_name": "Ana"}, actor=actor)
    server = hostile("drip-headers")
    integration = integration_create(integration_type="crm_webhook", account_name="crm", actor=actor,
                                     base_url=f"{server.url}/cdp", credentials={"signing_secret": "crm-secret-0001"})

    log = integration_sync(integration_id=integration.pk)

    assert server.wait_handled()
    assert server.hung_up and not server.completed
    assert log.status == "error" and log.error_code == "source_timeout"


# --- one tenant's outbound work cannot take the worker pool ------------------------------------------------

def test_a_tenant_runs_one_webhook_drain_at_a_time_and_others_are_not_held(world, hostile, actor):
    from integrations.limits import slot_release, slot_try_acquire
    from integrations.services import webhook_emit
    from integrations.services.webhooks import DRAIN, webhooks_drain

    receiver = FakeServer()
    receiver.route("POST", r"/hook", lambda request: Reply(204))
    receiver.start()
    try:
        # given alpha's drain is already running (on another worker slot, on a slow receiver)
        with tenant_context(world.alpha):
            endpoint_at(f"{hostile('stall').url}/hook", actor)
            held = slot_try_acquire(DRAIN, limit=1, ttl=60)
            alpha_delivery, = webhook_emit(event="segment.entered", payload={"customer_id": 1})
            # then a second drain of alpha does nothing: alpha holds one worker slot at most
            assert webhooks_drain() == 0
            assert WebhookDelivery.objects.get(pk=alpha_delivery).status == "pending"
        # and beta's deliveries go out meanwhile
        with tenant_context(world.beta):
            endpoint_at(f"{receiver.url}/hook", actor)
            beta_delivery, = webhook_emit(event="segment.entered", payload={"customer_id": 2})
            assert webhooks_drain() == 1
            assert WebhookDelivery.objects.get(pk=beta_delivery).status == "success"
        with tenant_context(world.alpha):
            slot_release(DRAIN, held)
    finally:
        receiver.stop()


def test_a_drain_stops_after_its_budget_and_queues_its_follow_up(in_alpha, hostile, actor,
                                                               django_capture_on_commit_callbacks):
    from integrations.services import webhook_emit, webhook_ping
    from integrations.services.webhooks import webhooks_drain

    endpoint = endpoint_at(f"{hostile('stall').url}/hook", actor)
    backlog = [webhook_emit(event="segment.entered", payload={"customer_id": n})[0] for n in range(3)]
    ping = webhook_ping(endpoint_id=endpoint.pk, actor=actor)

    with django_capture_on_commit_callbacks() as follow_up:
        attempts = webhooks_drain(budget=0)

    # one attempt (the ping first: someone waits for it), then the rest is left to a new drain,
    # queued behind the tasks already waiting (other tenants' work)
    assert attempts == 1
    ping.refresh_from_db()
    assert ping.status == "failed"
    assert set(WebhookDelivery.objects.filter(pk__in=backlog).values_list("status", flat=True)) == {"pending"}
    assert follow_up


def test_due_retries_wake_their_tenants_drain(in_alpha, actor, monkeypatch, settings):
    import time

    from integrations import tasks
    from integrations.services import webhook_emit
    from integrations.services.webhooks import webhooks_drain, webhooks_wake_due

    settings.INTEGRATIONS_WEBHOOK_BACKOFF_BASE = 60
    endpoint_at("http://127.0.0.1:9/hook", actor)  # nothing listens: the attempt fails at once
    delivery_id, = webhook_emit(event="segment.entered", payload={"customer_id": 1})
    assert webhooks_drain() == 1  # failed; its retry is due in 60 s, and the drain notes when
    assert WebhookDelivery.objects.get(pk=delivery_id).status == "retrying"
    queued = []
    monkeypatch.setattr(tasks.webhook_drain_task, "apply_async", lambda *a, **k: queued.append(k))

    # the sweep (beat, every minute) leaves alpha alone until then, and wakes its drain after
    assert webhooks_wake_due() == 0
    assert webhooks_wake_due(now=time.time() + 61) == 1
    assert queued == [{"headers": {"_schema_name": "alpha"}}]


def test_order_fetches_of_a_tenant_at_its_limit_wait_their_turn(in_alpha, actor, settings):
    from celery.exceptions import Retry

    from integrations.limits import slot_release, slot_try_acquire
    from integrations.tasks import vtex_order_fetch_task

    settings.INTEGRATIONS_TENANT_FETCH_CONCURRENCY = 1
    held = slot_try_acquire("fetches", limit=1, ttl=60)
    try:
        with pytest.raises(Retry) as retry:
            vtex_order_fetch_task.delay(integration_id=1, order_id="1-01")
    finally:
        slot_release("fetches", held)
    assert retry.value.when > 0


# --- the payment gateway -------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["drip-body", "flood"])
def test_the_payment_gateway_has_a_total_deadline_and_a_cap(hostile, mode):
    from decimal import Decimal

    from billing.gateways import GatewayUnavailable, StripeGateway

    server = hostile(mode, body=b'{"id": "pi_1", "status": "succeeded"}', size=32 * 1024 * 1024)
    gateway = StripeGateway(base_url=server.url, secret_key="sk_test_fake", timeout=1)

    with pytest.raises(GatewayUnavailable):
        gateway.charge(amount=Decimal("10.00"), currency="USD", token="tok_visa", idempotency_key="k-1")

    assert server.wait_handled()
    assert server.hung_up and not server.completed


# --- the SSRF guard judges the IPv4 address inside IPv6 forms -----------------------------------------------

@pytest.mark.parametrize("address", [
    "64:ff9b::a00:1",  # NAT64 well-known prefix -> 10.0.0.1
    "64:ff9b::7f00:1",  # -> 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # -> 169.254.169.254 (cloud metadata)
    "64:ff9b:1:a00:0:100::",  # RFC 8215 local-use NAT64 /48 -> 10.0.0.1
    "2002:a00:1::1",  # 6to4 -> 10.0.0.1
    "2002:7f00:1::",  # 6to4 -> 127.0.0.1
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
    "::7f00:1",  # IPv4-compatible ::127.0.0.1
    "::a00:1",  # IPv4-compatible ::10.0.0.1
    "::ffff:10.0.0.1",  # IPv4-mapped (already refused)
])
def test_ipv6_forms_that_lead_to_internal_ipv4_are_refused(address, settings):
    from integrations.http import UnsafeUrl, address_is_public, url_guard

    settings.CDP_ALLOW_PRIVATE_URLS = False
    assert not address_is_public(address)
    with pytest.raises(UnsafeUrl):
        url_guard(f"http://[{address}]/hook")


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "2606:4700:4700::1111", "8.8.8.8"])
def test_public_addresses_stay_public(address):
    from integrations.http import address_is_public

    assert address_is_public(address)


def test_a_slow_name_server_does_not_hold_the_registration(settings, monkeypatch):
    """Registering a URL checks it in the web request: the lookup is bounded (CDP_DNS_TIMEOUT),
    and a host that does not resolve in time is refused like one that does not resolve."""
    import socket

    from integrations.http import UnsafeUrl, url_guard

    settings.CDP_ALLOW_PRIVATE_URLS = False
    settings.CDP_DNS_TIMEOUT = 0.2
    released = threading.Event()

    def slow_getaddrinfo(host, port, *args, **kwargs):
        released.wait(10)  # the tenant's name server, answering late (with a public address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]

    monkeypatch.setattr(socket, "getaddrinfo", slow_getaddrinfo)
    try:
        with pytest.raises(UnsafeUrl):
            url_guard("https://slow-dns.example/hook")
    finally:
        released.set()


# --- no outbound call from a request thread ----------------------------------------------------------------------

def test_outbound_calls_inside_a_web_request_are_refused(db, hostile):
    from django.core.signals import request_finished, request_started

    from cdp.http import OutboundInRequest, outbound_request

    server = hostile("stall")
    request_started.send(sender=None)
    try:
        with pytest.raises(OutboundInRequest):
            outbound_request("POST", f"{server.url}/hook", deadline=1, max_bytes=1024, trusted=True)
    finally:
        request_finished.send(sender=None)
    assert server.requests == 0


def test_ping_answers_202_at_once_and_its_result_lands_in_the_delivery_log(world, hostile, api_key,
                                                                        django_capture_on_commit_callbacks):
    server = hostile("stall")
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write", "integrations"]))
    created = client.post("/api/v1/webhooks/", {"url": f"{server.url}/hook", "events": ["*"]},
                          content_type="application/json")
    endpoint_id = created.json()["id"]

    # when a ping is asked for while the receiver hangs
    with django_capture_on_commit_callbacks() as queued:
        ping = client.post(f"/api/v1/webhooks/{endpoint_id}/ping/")

    # then the request answered without calling out (cdp.http refuses inside a request here)
    assert ping.status_code == 202, ping.content
    assert ping.json()["status"] == "pending" and ping.json()["event"] == "webhook.ping"
    assert server.requests == 0

    # and the worker (the queued drain, eager here) sends it, cut at the deadline, logged
    for callback in queued:
        callback()
    log = client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries/?event=webhook.ping").json()["results"]
    assert log[0]["id"] == ping.json()["id"]
    assert log[0]["status"] == "failed" and log[0]["error"] == "No complete answer within 1s."
    assert server.requests == 1


# --- the web tier keeps serving other tenants while pings hang ----------------------------------------------------

class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class _ThreadPoolServer(WSGIServer):
    """gunicorn's gthread worker in small: ``threads`` threads serve requests, the others wait."""

    threads = 4

    def server_activate(self):
        super().server_activate()
        self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix="web")

    def process_request(self, request, client_address):
        self.pool.submit(self._serve, request, client_address)

    def _serve(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:  # noqa: BLE001 - what socketserver does
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)


def committed(fn):
    """Run ``fn`` on a thread of its own, with its own autocommit connection: what it writes is
    committed and seen by the server's threads (this test's own connection is in a transaction)."""
    from django.db import connections

    result = []

    def run():
        try:
            result.append(fn())
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return result[0]


@pytest.mark.django_db  # creates the test database; the server threads read what is committed
def test_hanging_pings_do_not_stop_another_tenants_api(_world, hostile, monkeypatch):
    """Review C4: 8 pings to a slow receiver made the API stop answering for every tenant. Here
    the server has 4 request threads; 8 pings go to a receiver that drips for a minute, then
    tenant beta asks for its tenant record. The server reads committed data (like the browser
    tests), so what this test needs is committed, and deleted at the end."""
    from django.core.wsgi import get_wsgi_application

    from integrations import tasks
    from integrations.models import WebhookEndpoint
    from tenants.models import ApiKey, AuditLog
    from tenants.services import api_key_create

    queued = []  # the broker: drains the pings queued, run below as the worker would
    drain_task = getattr(tasks, "webhook_drain_task", None)  # (absent before pings were queued)
    if drain_task is not None:
        monkeypatch.setattr(drain_task, "delay", lambda *a, **k: queued.append((a, k)))
    server = hostile("drip-body", interval=0.2, seconds=60)
    actor = Actor.system("tests")
    started_audit = committed(lambda: AuditLog.objects.order_by("-id").values_list("id", flat=True).first() or 0)
    alpha_key, beta_key = committed(lambda: (
        api_key_create(tenant=_world.alpha, name="pinger", scopes=["read", "integrations"], actor=actor),
        api_key_create(tenant=_world.beta, name="reader", scopes=["read"], actor=actor)))
    web = make_server("127.0.0.1", 0, get_wsgi_application(), server_class=_ThreadPoolServer,
                      handler_class=_QuietHandler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{web.server_port}"
    try:
        alpha = {"Host": "alpha.localhost", "Authorization": f"Api-Key {alpha_key.key}"}
        created = requests.post(f"{base}/api/v1/webhooks/", json={"url": f"{server.url}/hook", "events": ["*"]},
                                headers=alpha, timeout=10)
        assert created.status_code == 201, created.text
        endpoint_id = created.json()["id"]

        # when 8 pings are sent at once
        with ThreadPoolExecutor(8) as pool:
            pings = list(pool.map(lambda _: requests.post(f"{base}/api/v1/webhooks/{endpoint_id}/ping/",
                                                          headers=alpha, timeout=10), range(8)))
            # then another tenant's API still answers
            beta = requests.get(f"{base}/api/v1/tenant/", timeout=10,
                                headers={"Host": "beta.localhost", "Authorization": f"Api-Key {beta_key.key}"})
        assert beta.status_code == 200 and beta.json()["slug"] == "beta"
        assert [p.status_code for p in pings] == [202] * 8
        assert server.requests == 0 and queued

        # and the worker's drain sends the pings, each cut at the deadline: one per drain run here
        def drain():
            from integrations.services.webhooks import webhooks_drain

            with tenant_context(_world.alpha):
                return webhooks_drain(budget=0)

        assert committed(drain) == 1
        log = requests.get(f"{base}/api/v1/webhooks/{endpoint_id}/deliveries/?event=webhook.ping", headers=alpha,
                           timeout=10).json()
        assert sorted(d["status"] for d in log["results"]) == ["failed"] + ["pending"] * 7
        assert server.wait_handled() and server.hung_up
    finally:
        web.shutdown()
        web.server_close()
        web.pool.shutdown(wait=True)

        def clean():
            with tenant_context(_world.alpha):
                # a hard delete: endpoints are soft-deleted otherwise, and this data is committed
                WebhookEndpoint.all_objects.filter(url=f"{server.url}/hook").delete(force_policy=HARD_DELETE)
            ApiKey.objects.filter(pk__in=[alpha_key.api_key.pk, beta_key.api_key.pk]).delete()
            AuditLog.objects.filter(id__gt=started_audit).delete()

        committed(clean)
