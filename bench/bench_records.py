"""Real-time ingest through the API (``POST /api/v1/orders/ingest/``, batches of 1,000 orders of new
customers, the set-based record engine), beside the bulk CSV path and a bare PostgreSQL COPY of the
same orders, all in the same run:

- one client: the latency of each 1,000-order batch (target: under 250 ms, i.e. 4,000 orders/s);
- two concurrent clients (two processes, as two web workers would be): orders/s together
  (target: 5,000 or more);
- the same batches re-sent unchanged: orders/s (target: 20,000 or more);
- the bulk path (``orders_bulk_load``) and a bare COPY into an unindexed table, of the same orders.

Runs in temporary tenants (schemas) and drops them afterwards. Sizes: BENCH_RECORDS_BATCHES (per
client, default 10) batches of 1,000 orders.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path

BATCHES = int(os.environ.get("BENCH_RECORDS_BATCHES", "10"))
BATCH = 1000
HEADER = ["source", "external_order_id", "order_date", "status", "currency", "total_amount", "subtotal",
          "shipping_cost", "payment_method", "customer_email", "customer_external_id", "customer_first_name",
          "customer_last_name", "customer_phone", "customer_document_type", "customer_document_number",
          "customer_city", "customer_country", "customer_address_line1", "customer_address_number",
          "customer_address_city", "customer_address_postal_code", "items"]


def record(client: int, batch: int, n: int) -> dict:
    """One order of a new customer (client, batch and n make the person and the order unique)."""
    key = f"{client}-{batch}-{n}"
    cents = 1000 + (n * 7919) % 400000
    return {
        "source": "shop", "external_order_id": f"o-{key}", "order_date": f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}T10:00:00-03:00",
        "status": "completed" if n % 10 else "cancelled", "currency": "ARS", "total_amount": f"{cents / 100:.2f}",
        "subtotal": f"{cents * 0.9 / 100:.2f}", "shipping_cost": "150.00", "payment_method": "credit_card",
        "customer": {"email": f"p-{key}@example.com", "external_id": f"c-{key}", "first_name": "Ana", "last_name": "Paz",
                     "phone": "11 4444 5555", "document_type": "dni", "document_number": f"{(client + 1) * 10**7 + batch * 1000 + n}",
                     "city": "Córdoba", "country": "AR",
                     "address": {"line1": "Av. Siempre Viva", "number": str(n), "city": "Córdoba", "postal_code": "5000"}},
        "items": [{"sku": f"SKU-{n % 300}", "name": f"Product {n % 300}", "quantity": 1 + n % 3,
                   "unit_price": f"{cents / 100:.2f}"}],
    }


def batches_of(client: int) -> list[list[dict]]:
    return [[record(client, b, n) for n in range(BATCH)] for b in range(BATCHES)]


def post_batches(host: str, key: str, batches: list[list[dict]], out) -> None:
    """One client: post each batch, note each answer's latency (seconds) and status counts."""
    from django.db import connections
    from django.test import Client

    connections.close_all()
    client = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Api-Key {key}")
    times, counts = [], {}
    for batch in batches:
        body = json.dumps({"orders": batch})
        started = time.perf_counter()
        response = client.post("/api/v1/orders/ingest/", body, content_type="application/json")
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content[:500]
        for name in ("created", "updated", "unchanged", "rejected"):
            counts[name] = counts.get(name, 0) + response.json()[name]
    connections.close_all()
    out.put((times, counts))


def clients_run(host: str, key: str, clients: list[list[list[dict]]]) -> tuple[float, list, dict]:
    """Run one process per client at once; returns wall seconds, every latency and the counts."""
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    processes = [context.Process(target=post_batches, args=(host, key, batches, queue)) for batches in clients]
    started = time.perf_counter()
    for process in processes:
        process.start()
    results = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    wall = time.perf_counter() - started
    times = [t for ts, _ in results for t in ts]
    counts: dict = {}
    for _, c in results:
        for name, value in c.items():
            counts[name] = counts.get(name, 0) + value
    return wall, times, counts


def write_csv(path: Path, batches: list[list[dict]]) -> int:
    rows = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for batch in batches:
            for r in batch:
                c, a = r["customer"], r["customer"]["address"]
                writer.writerow([r["source"], r["external_order_id"], r["order_date"], r["status"], r["currency"],
                                 r["total_amount"], r["subtotal"], r["shipping_cost"], r["payment_method"], c["email"],
                                 c["external_id"], c["first_name"], c["last_name"], c["phone"], c["document_type"],
                                 c["document_number"], c["city"], c["country"], a["line1"], a["number"], a["city"],
                                 a["postal_code"], json.dumps(r["items"])])
                rows += 1
    return rows


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp.settings.local")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import tenant_context

    from cdp import registry
    from cdp.context import Actor
    from customers.services.bulk import orders_bulk_load
    from tenants.services import api_key_create, tenant_provision

    settings.DEBUG = False  # no query log
    call_command("migrate_schemas", "--shared", verbosity=0)
    actor = Actor.system("bench")
    slug = f"bench-records-{os.getpid()}"
    tenant = tenant_provision(slug=slug, name="Bench records", actor=actor)
    bulk_tenant = tenant_provision(slug=f"{slug}-bulk", name="Bench records (bulk)", actor=actor)
    host = f"{slug}.localhost"
    workdir = Path(tempfile.mkdtemp(prefix="cdp-bench-records-"))
    path = workdir / "orders.csv"
    try:
        key = api_key_create(tenant=tenant, name="bench", scopes=["read", "write"], actor=actor).key
        one, two, three = batches_of(0), batches_of(1), batches_of(2)
        with registry.quota_guards_disabled():
            # warm up (imports, first-time plans) with a small batch of other people
            clients_run(host, key, [[[record(9, 0, n) for n in range(50)]]])
            # one client, new customers
            wall, times, counts = clients_run(host, key, [one])
            print(f"API, one client, 1,000-order batches of new customers: p50 {statistics.median(times) * 1000:,.0f} ms,"
                  f" max {max(times) * 1000:,.0f} ms per batch; {BATCHES * BATCH / wall:,.0f} orders/s"
                  f"  target < 250 ms (>= 4,000 orders/s)  {counts}", flush=True)
            # two concurrent clients, new customers
            wall, times, counts = clients_run(host, key, [two, three])
            print(f"API, two concurrent clients, new customers: {2 * BATCHES * BATCH / wall:,.0f} orders/s together"
                  f" (p50 {statistics.median(times) * 1000:,.0f} ms per batch)  target >= 5,000  {counts}", flush=True)
            # re-sent unchanged, one client then two
            wall, times, counts = clients_run(host, key, [one])
            print(f"API, re-sent unchanged, one client: {BATCHES * BATCH / wall:,.0f} orders/s"
                  f" (p50 {statistics.median(times) * 1000:,.0f} ms per batch)  target >= 20,000  {counts}",
                  flush=True)
            wall, times, counts = clients_run(host, key, [two, three])
            print(f"API, re-sent unchanged, two clients: {2 * BATCHES * BATCH / wall:,.0f} orders/s together"
                  f"  target >= 20,000  {counts}", flush=True)
            # the same orders through the bulk path, and a bare COPY
            rows = write_csv(path, [*one, *two, *three])
            connection.close()
            with tenant_context(bulk_tenant):
                with connection.cursor() as cursor:
                    cursor.execute("CREATE TABLE bench_copy_baseline (" + ", ".join(f"{c} text" for c in HEADER) + ")")
                started = time.perf_counter()
                with connection.cursor() as cursor, open(path, "rb") as handle, cursor.cursor.copy(
                        "COPY bench_copy_baseline FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
                    while chunk := handle.read(1 << 20):
                        copy.write(chunk)
                copy_seconds = time.perf_counter() - started
                started = time.perf_counter()
                result = orders_bulk_load(path=path, actor=actor, tenant=bulk_tenant, default_source="import")
                load_seconds = time.perf_counter() - started
            print(f"bulk path, the same {rows:,} orders from CSV: {rows / load_seconds:,.0f} orders/s;"
                  f"  bare COPY: {rows / copy_seconds:,.0f} orders/s  {result.as_dict()}", flush=True)
    finally:
        connection.set_schema_to_public()
        tenant.delete(force_drop=True)
        bulk_tenant.delete(force_drop=True)
        path.unlink(missing_ok=True)
        workdir.rmdir()


if __name__ == "__main__":
    main()
