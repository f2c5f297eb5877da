"""Metrics at /metrics, structured logs with tenant and request id, /readyz (issue #19 item 6)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import tenant_context
from prometheus_client.parser import text_string_to_metric_families

from cdp.ops import health, logs
from tests.conftest import api_client


def _samples(response) -> dict:
    """{(name, frozenset(labels)): value} of an exposition."""
    out = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def _value(samples: dict, name: str, **labels) -> float:
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


def scrape(**extra):
    return Client(**extra).get("/metrics")


def test_metrics_are_readable_from_this_machine_only_without_a_token(world):
    assert scrape().status_code == 200  # the test client is 127.0.0.1
    refused = scrape(REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 403 and b"cdp_" not in refused.content
    # a forwarded header does not make a remote client local
    assert scrape(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 403


def test_with_a_token_only_its_bearer_reads_metrics(world, settings):
    settings.CDP_METRICS_TOKEN = "s3cret-scrape-token"
    assert scrape().status_code == 403  # loopback is not enough any more
    assert scrape(HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert scrape(REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token").status_code == 200


def test_request_latency_is_labelled_by_route_not_by_path(world, api_key):
    client = api_client("alpha.localhost", api_key(world.alpha))
    before = _samples(scrape())
    for customer_id in (101, 102, 103):
        client.get(f"/api/v1/customers/{customer_id}/")
    after = _samples(scrape())
    name = "cdp_http_request_duration_seconds_count"
    routes = {dict(labels).get("route") for (n, labels) in after if n == name}
    assert "api/v1/customers/<pk>/" in routes or any(r and r.startswith("api/v1/customers/") for r in routes)
    assert not any(r and "101" in r for r in routes)
    grown = _value(after, name, method="GET", status="404") - _value(before, name, method="GET", status="404")
    assert grown == 3


def test_license_validations_are_counted_per_outcome(world):
    from licensing import store

    store.clear_all()
    before = _value(_samples(scrape()), "cdp_license_validations_total", code="NOT_FOUND")
    Client(HTTP_HOST="localhost").post("/api/v1/licenses/validate", data=json.dumps(
        {"key": "CDPL-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA-AAAAA", "fingerprint": "fp-1"}), content_type="application/json")
    store.clear_all()
    assert _value(_samples(scrape()), "cdp_license_validations_total", code="NOT_FOUND") == before + 1


def test_ingest_rate_counts_orders_by_source_and_outcome(world, api_key):
    from tests.customers.factories import order_record

    client = api_client("alpha.localhost", api_key(world.alpha))
    before = _value(_samples(scrape()), "cdp_orders_ingested_total", source="api", outcome="created")
    tag = uuid.uuid4().hex[:6]
    body = {"orders": [order_record(f"{tag}-1"), order_record(f"{tag}-2")]}
    assert client.post("/api/v1/orders/ingest/", data=json.dumps(body), content_type="application/json").status_code == 200
    assert _value(_samples(scrape()), "cdp_orders_ingested_total", source="api", outcome="created") == before + 2


def test_queue_depth_and_sync_lag_are_read_when_scraped(world, settings):
    from cdp.middleware import broker_client
    from integrations.models import Integration

    queue = f"ops-test-{uuid.uuid4().hex[:6]}"
    settings.CELERY_TASK_QUEUES_NAMES = ("default", queue)
    settings.CDP_METRICS_SLOW_CACHE_SECONDS = 0
    redis = broker_client()
    redis.lpush(queue, "a", "b", "c")
    try:
        with tenant_context(world.alpha):
            integration = Integration.objects.create(integration_type="vtex", account_name=f"lag-{queue}")
        connection.set_schema_to_public()
        samples = _samples(scrape())
    finally:
        redis.delete(queue)
    assert _value(samples, "cdp_celery_queue_depth", queue=queue) == 3
    lags = {labels: v for (n, labels), v in samples.items() if n == "cdp_integration_sync_lag_seconds"}
    assert any(dict(labels)["tenant"] == "alpha" and dict(labels)["integration"] == str(integration.pk)
               for labels in lags)


def test_task_durations_are_observed_per_task(world):
    from tenants.tasks import sessions_prune_task

    sessions_prune_task.delay()
    samples = _samples(scrape())
    assert _value(samples, "cdp_task_duration_seconds_count", task="tenants.tasks.sessions_prune_task",
                  outcome="success") >= 1


def test_every_response_carries_a_request_id_and_a_safe_caller_id_is_kept(world):
    client = Client(HTTP_HOST="localhost")
    assert len(client.get("/healthz")["X-Request-ID"]) == 32
    answer = client.get("/", HTTP_X_REQUEST_ID="lb-1234")
    assert answer["X-Request-ID"] == "lb-1234"
    hostile = client.get("/", HTTP_X_REQUEST_ID="x\nforged: 1")
    assert hostile["X-Request-ID"] != "x\nforged: 1" and len(hostile["X-Request-ID"]) == 32


def test_json_log_lines_carry_tenant_and_request_id(world):
    record = logging.LogRecord("cdp.test", logging.WARNING, __file__, 1, "sync %s failed", ("vtex",), None)
    token = logs.set_request_id("req-42")
    try:
        with tenant_context(world.alpha):
            logs.ContextFilter().filter(record)
            line = logs.JsonFormatter().format(record)
    finally:
        logs.reset_request_id(token)
    entry = json.loads(line)
    assert entry["message"] == "sync vtex failed" and entry["level"] == "WARNING"
    assert entry["tenant"] == "alpha" and entry["request_id"] == "req-42"


def test_readyz_is_ready_only_with_every_migration_applied_everywhere(world, monkeypatch):
    monkeypatch.setattr(health, "_migrations_ok", False)
    ready = Client().get("/readyz")
    assert ready.status_code == 200 and ready.json()["migrations"]["status"] == "ok"
    monkeypatch.setattr(health, "_migrations_ok", False)
    with tenant_context(world.beta), connection.cursor() as cursor:
        cursor.execute("DELETE FROM beta.django_migrations WHERE app = 'integrations' AND name LIKE '0003_%%'")
    connection.set_schema_to_public()
    behind = Client().get("/readyz")
    assert behind.status_code == 503
    assert behind.json()["migrations"]["tenants"] == {"beta": 1}
    assert Client().get("/healthz").status_code == 200  # alive, just not ready


@pytest.mark.skipif(sys.platform != "linux", reason="multiprocess files")
def test_multiprocess_mode_adds_up_every_process(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    bump = "from cdp.ops import metrics; metrics.license_validated('VALID')"
    for _ in range(2):
        subprocess.run([sys.executable, "-c", bump], env=env, check=True, timeout=60)
    read = ("from prometheus_client import CollectorRegistry, generate_latest, multiprocess\n"
            "r = CollectorRegistry(); multiprocess.MultiProcessCollector(r); print(generate_latest(r).decode())")
    out = subprocess.run([sys.executable, "-c", read], env=env, check=True, timeout=60, capture_output=True, text=True)
    assert 'cdp_license_validations_total{code="VALID"} 2.0' in out.stdout
