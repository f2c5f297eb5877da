"""Prometheus metrics (prometheus-client, the official client) and the ``/metrics`` endpoint.

What is measured:
- ``cdp_http_request_duration_seconds{route,method,status}``: every request, labelled with its
  URL pattern (``api/v1/customers/<int:pk>/``), never the raw path (one series per route).
- ``cdp_task_duration_seconds{task,queue,outcome}``: every Celery task (worker signals).
- ``cdp_celery_queue_depth{queue}``: messages waiting in each broker queue, read at scrape time.
- ``cdp_integration_sync_lag_seconds{tenant,integration,type}``: time since each active
  integration's last successful sync, read at scrape time (cached ``CDP_METRICS_SLOW_CACHE_SECONDS``).
- ``cdp_license_validations_total{code}``: validations by answer (VALID, NOT_FOUND, ...).
- ``cdp_orders_ingested_total{source,outcome}``: ingest rate is ``rate()`` of it.

Several processes (gunicorn workers, Celery's pool) each count on their own: with
``PROMETHEUS_MULTIPROC_DIR`` set (``manage.py serve`` sets it under the data directory) every
process writes its samples to files there and ``/metrics`` adds them up (the client's
multiprocess mode). A worker on another machine exposes its own with ``CDP_WORKER_METRICS_PORT``.

Who may read ``/metrics``: with ``CDP_METRICS_TOKEN`` set, only requests bearing it
(``Authorization: Bearer <token>``); without it, only clients on this machine (loopback).
"""

from __future__ import annotations

import hmac
import logging
import os
import time

from celery import signals
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django_tenants.utils import get_tenant_model
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily

from cdp.middleware import broker_client

logger = logging.getLogger(__name__)

_MULTIPROC = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

REQUEST_LATENCY = Histogram(
    "cdp_http_request_duration_seconds", "Time to answer a request, by URL pattern.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
TASK_DURATION = Histogram(
    "cdp_task_duration_seconds", "Time a Celery task ran, by task, queue and outcome.",
    ["task", "queue", "outcome"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
)
LICENSE_VALIDATIONS = Counter(
    "cdp_license_validations", "License validations answered, by code.", ["code"])
ORDERS_INGESTED = Counter(
    "cdp_orders_ingested", "Order records ingested, by source and outcome.", ["source", "outcome"])


def license_validated(code: str) -> None:
    LICENSE_VALIDATIONS.labels(code=code).inc()


def orders_ingested(*, source: str, counts: dict[str, int]) -> None:
    for outcome, count in counts.items():
        if count:
            ORDERS_INGESTED.labels(source=source, outcome=outcome).inc(count)


# --- requests ----------------------------------------------------------------------------------

def route_name(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        # Answered before URL resolution (license fast path, /healthz) or not found: resolve once
        # against the host's URL conf to name it, else "unmatched" (never the raw path).
        try:
            match = resolve(request.path_info, urlconf=getattr(request, "urlconf", None))
        except Resolver404:
            return "healthz" if request.path_info in ("/healthz", "/readyz", "/metrics") else "unmatched"
        except Exception:  # an unknown host's URL conf: nothing to name
            return "unmatched"
    return match.route or match.view_name or "unmatched"


def metrics_allowed(request) -> bool:
    token = getattr(settings, "CDP_METRICS_TOKEN", "")
    if token:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        return header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip().encode(), token.encode())
    # Without a token: this machine only (a sidecar scraper, or ssh). REMOTE_ADDR, not a forwarded
    # header: a proxy on this machine forwarding the internet would otherwise open it.
    return request.META.get("REMOTE_ADDR", "") in ("127.0.0.1", "::1")


def metrics_view(request):
    if not metrics_allowed(request):
        return JsonResponse({"error": {"code": "forbidden", "message": "Metrics are not public.", "fields": {}}},
                            status=403)
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


def exposition() -> bytes:
    """Everything, in the text format: this process's (or, in multiprocess mode, every
    process's) counters and histograms, then the gauges read now."""
    if _MULTIPROC:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    live = CollectorRegistry()
    live.register(LiveCollector())
    return generate_latest(registry) + generate_latest(live)


# --- gauges read at scrape time -------------------------------------------------------------------

_slow_cache: dict[str, tuple[float, list]] = {}


def queue_depths() -> dict[str, int]:
    """Messages waiting per queue in the Redis broker (kombu keeps each queue as a list named after
    it, plus one list per priority level: ``<queue>\\x06\\x16<n>``)."""
    client = broker_client()
    depths = {}
    for queue in settings.CELERY_TASK_QUEUES_NAMES:
        keys = [queue] + [f"{queue}\x06\x16{level}" for level in range(1, 10)]
        pipe = client.pipeline()
        for key in keys:
            pipe.llen(key)
        depths[queue] = sum(pipe.execute())
    return depths


def sync_lags(now: float | None = None) -> list[tuple[str, str, str, float]]:
    """(tenant, integration id, type, seconds since its last successful sync) of every active
    integration of every tenant, in one query over all tenant schemas. Cached briefly: a scrape
    every 15 s must not cost a query per tenant each time."""
    cached = _slow_cache.get("sync_lags")
    ttl = float(getattr(settings, "CDP_METRICS_SLOW_CACHE_SECONDS", 60))
    if cached and time.monotonic() - cached[0] < ttl:
        return cached[1]
    tenant_table = connection.ops.quote_name(get_tenant_model()._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.schema_name FROM {tenant_table} t JOIN pg_namespace n ON n.nspname = t.schema_name "
            "WHERE t.schema_name <> %s AND to_regclass(quote_ident(t.schema_name) || '.integrations_integration') "
            "IS NOT NULL ORDER BY 1", [settings.PUBLIC_SCHEMA_NAME])
        schemas = [row[0] for row in cursor.fetchall()]
        rows = []
        for start in range(0, len(schemas), 200):  # one statement per 200 tenants
            parts = [
                f"SELECT %s, id, integration_type, EXTRACT(EPOCH FROM now() - COALESCE(last_sync_at, created_at)) "
                f"FROM {connection.ops.quote_name(schema)}.integrations_integration WHERE is_active"
                for schema in schemas[start:start + 200]]
            if parts:
                cursor.execute(" UNION ALL ".join(parts), schemas[start:start + 200])
                rows += [(schema, str(pk), kind, float(lag)) for schema, pk, kind, lag in cursor.fetchall()]
    _slow_cache["sync_lags"] = (time.monotonic(), rows)
    return rows


class LiveCollector:
    """Gauges that are read from Redis and PostgreSQL when scraped, not counted in-process."""

    def collect(self):
        depth = GaugeMetricFamily("cdp_celery_queue_depth", "Messages waiting in the broker queue.", labels=["queue"])
        try:
            for queue, count in queue_depths().items():
                depth.add_metric([queue], count)
        except Exception as exc:
            logger.warning("queue depth unavailable: %s", exc.__class__.__name__)
        yield depth
        lag = GaugeMetricFamily("cdp_integration_sync_lag_seconds",
                                "Seconds since the integration last synced (its creation if never).",
                                labels=["tenant", "integration", "type"])
        try:
            for tenant, integration, kind, seconds in sync_lags():
                lag.add_metric([tenant, integration, kind], seconds)
        except Exception as exc:
            logger.warning("sync lag unavailable: %s", exc.__class__.__name__)
        yield lag


# --- Celery --------------------------------------------------------------------------------------

_task_started: dict[str, float] = {}


def connect_celery_signals() -> None:
    """Time every task in the process that runs it (called once from cdp/celery.py)."""
    @signals.task_prerun.connect(weak=False)
    def _prerun(task_id=None, **_kwargs):
        _task_started[task_id] = time.perf_counter()

    @signals.task_postrun.connect(weak=False)
    def _postrun(task_id=None, task=None, state=None, **_kwargs):
        started = _task_started.pop(task_id, None)
        if started is None or task is None:
            return
        queue = ((getattr(task.request, "delivery_info", None) or {}).get("routing_key")) or "eager"
        TASK_DURATION.labels(task=task.name, queue=queue, outcome=(state or "unknown").lower()).observe(
            time.perf_counter() - started)

    @signals.worker_ready.connect(weak=False)
    def _exporter(**_kwargs):
        if settings.CDP_WORKER_METRICS_PORT:  # a worker on a machine without the web server serves its own
            start_http_server(settings.CDP_WORKER_METRICS_PORT, addr=settings.CDP_WORKER_METRICS_ADDR)

    @signals.worker_process_shutdown.connect(weak=False)
    def _dead(pid=None, **_kwargs):
        if _MULTIPROC:
            multiprocess.mark_process_dead(pid or os.getpid())
