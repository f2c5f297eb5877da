"""Can one tenant's slow webhook receivers starve another tenant's deliveries?

Two temporary tenants share a worker of 2 slots (``serve`` runs Celery with --concurrency 2): a
FIFO queue and 2 threads stand in for the broker and the worker, running the real services.
Tenant A (noisy) queues N deliveries to a receiver that never answers (each attempt ends at the
1 s deadline), then tenant B (quiet) queues one to a receiver that answers at once. Measured:
how long B waits for its delivery, how long A's backlog takes, and how many tasks the worker ran.

- "task per delivery" is the scheduling before this change: one task per delivery, FIFO, no
  per-tenant bound (``webhook_delivery_attempt`` per task, as ``webhook_deliver_task`` did).
- "drain per tenant" is the current one: deliveries are rows; each tenant has at most one queued
  drain task (``webhooks_drain``), which works for INTEGRATIONS_WEBHOOK_DRAIN_SECONDS and then
  re-queues behind whatever is waiting.

BENCH_FAIRNESS_DELIVERIES=40 by default (A's backlog).
"""

from __future__ import annotations

import os
import queue
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DELIVERIES = int(os.environ.get("BENCH_FAIRNESS_DELIVERIES", "40"))
SLOTS = 2


def stalling_receiver() -> socket.socket:
    """Accepts connections and never answers (a receiver that hangs)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    held = []

    def accept():
        while True:
            try:
                held.append(sock.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return sock


def fast_receiver() -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(204)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Worker:
    """A FIFO queue of (tenant, callable) and ``SLOTS`` threads running them in the tenant."""

    def __init__(self, tenants):
        self.tenants = {t.schema_name: t for t in tenants}
        self.queue: queue.Queue = queue.Queue()
        self.ran = 0
        self._lock = threading.Lock()
        for n in range(SLOTS):
            threading.Thread(target=self._run, name=f"slot-{n}", daemon=True).start()

    def put(self, schema: str, fn) -> None:
        self.queue.put((schema, fn))

    def _run(self):
        from django.db import connection
        from django_tenants.utils import tenant_context

        while True:
            schema, fn = self.queue.get()
            try:
                with tenant_context(self.tenants[schema]):
                    fn()
            finally:
                connection.set_schema_to_public()
                with self._lock:
                    self.ran += 1
                self.queue.task_done()


def run(mode: str, tenant_a, tenant_b, hang_url: str, fast_url: str) -> dict:
    from django.db import connection
    from django_tenants.utils import tenant_context

    from cdp.context import Actor
    from integrations import tasks
    from integrations.models import WebhookDelivery
    from integrations.services import webhook_delivery_attempt, webhook_emit, webhook_endpoint_create
    from integrations.services.webhooks import webhooks_drain

    actor = Actor.system("bench")
    worker = Worker([tenant_a, tenant_b])
    original_delay = tasks.webhook_drain_task.delay
    if mode == "drain per tenant":
        tasks.webhook_drain_task.delay = lambda *a, **k: worker.put(connection.schema_name, webhooks_drain)
    else:
        tasks.webhook_drain_task.delay = lambda *a, **k: None  # deliveries are queued one by one below
    try:
        for tenant, url in ((tenant_a, hang_url), (tenant_b, fast_url)):
            with tenant_context(tenant):
                WebhookDelivery.objects.all().delete()
                webhook_endpoint_create(url=url, events=["*"], actor=actor)
        started = time.perf_counter()
        with tenant_context(tenant_a):
            ids_a = [webhook_emit(event="segment.entered", payload={"n": n})[0] for n in range(DELIVERIES)]
        with tenant_context(tenant_b):
            id_b, = webhook_emit(event="segment.entered", payload={"n": 0})
        if mode == "task per delivery":
            for pk in ids_a:
                worker.put(tenant_a.schema_name, lambda pk=pk: webhook_delivery_attempt(delivery_id=pk))
            worker.put(tenant_b.schema_name, lambda: webhook_delivery_attempt(delivery_id=id_b))
        b_done = a_done = None
        while b_done is None or a_done is None:
            time.sleep(0.05)
            elapsed = time.perf_counter() - started
            with tenant_context(tenant_b):
                if b_done is None and WebhookDelivery.objects.filter(pk=id_b, status="success").exists():
                    b_done = elapsed
            with tenant_context(tenant_a):
                if a_done is None and not WebhookDelivery.objects.filter(pk__in=ids_a, attempts=0).exists():
                    a_done = elapsed
        worker.queue.join()
        return {"b_wait": b_done, "a_backlog": a_done, "tasks": worker.ran}
    finally:
        tasks.webhook_drain_task.delay = original_delay
        for tenant in (tenant_a, tenant_b):
            with tenant_context(tenant):
                from integrations.models import WebhookEndpoint

                from safedelete import HARD_DELETE

                WebhookEndpoint.all_objects.all().delete(force_policy=HARD_DELETE)  # not a restorable soft delete


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp.settings.local")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from cdp import registry
    from cdp.context import Actor
    from integrations import limits
    from tenants.services import tenant_provision

    settings.DEBUG = False
    settings.CDP_ALLOW_PRIVATE_URLS = True  # the receivers listen on 127.0.0.1
    settings.INTEGRATIONS_WEBHOOK_TIMEOUT = 1.0
    settings.INTEGRATIONS_WEBHOOK_DRAIN_SECONDS = 5.0
    settings.INTEGRATIONS_WEBHOOK_DISABLE_AFTER = 10**6  # keep the noisy endpoint enabled throughout
    settings.INTEGRATIONS_WEBHOOK_BACKOFF_BASE = 3600  # no retry comes due during the run
    call_command("migrate_schemas", "--shared", verbosity=0)
    actor = Actor.system("bench")
    hang, fast = stalling_receiver(), fast_receiver()
    hang_url = f"http://127.0.0.1:{hang.getsockname()[1]}/hook"
    fast_url = f"http://127.0.0.1:{fast.server_address[1]}/hook"
    saved_guards = list(registry._quota_guards)
    registry._quota_guards.clear()
    tenants = []
    try:
        for name in ("noisy", "quiet"):
            tenants.append(tenant_provision(slug=f"bench-{name}-{os.getpid()}", name=f"Bench {name}", actor=actor))
        print(f"Tenant A: {DELIVERIES} deliveries to a receiver that hangs (1 s deadline each); tenant B: 1 to a "
              f"fast receiver, queued after A's; a worker of {SLOTS} slots.", flush=True)
        for mode in ("task per delivery", "drain per tenant"):
            for tenant in tenants:
                limits.flag_clear("webhooks", schema=tenant.schema_name)
            result = run(mode, *tenants, hang_url, fast_url)
            print(f"{mode:>18}: B delivered after {result['b_wait']:5.1f}s; A's backlog attempted in "
                  f"{result['a_backlog']:5.1f}s; {result['tasks']} tasks run", flush=True)
    finally:
        registry._quota_guards[:] = saved_guards
        hang.close()
        fast.shutdown()
        connection.set_schema_to_public()
        for tenant in tenants:
            tenant.delete(force_drop=True)


if __name__ == "__main__":
    main()
