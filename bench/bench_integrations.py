"""A VTEX backfill of 100,000 orders from a local fake OMS (list pages + one detail GET per
order, the real wire format), through the real sync (HTTP client, connector, raw payloads,
order_ingest, cursor): orders/s and the share of wall time spent waiting on HTTP, beside the
bare ingest rate of the same orders (order_ingest in batches of 1,000, no HTTP).

Runs in temporary tenants (schemas) and drops them afterwards. Lower the size for a quick look:
BENCH_VTEX_ORDERS=10000 make bench BENCH_ARGS=bench_integrations
"""

from __future__ import annotations

import bisect
import datetime
import json
import os
import re
import tempfile
import threading
import time
from pathlib import Path
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ORDERS = int(os.environ.get("BENCH_VTEX_ORDERS", "100000"))
CUSTOMERS = max(1, ORDERS // 4)
WINDOW = re.compile(r"creationDate:\[(.+) TO (.+)\]")


def records_csv(path, records: list[dict]) -> list[str]:
    """The canonical records as the bulk path's CSV (``customer_``, ``customer_address_`` prefixes,
    items as JSON); returns the header."""
    import csv

    def flat(record: dict) -> dict:
        row = {k: v for k, v in record.items() if k not in ("customer", "items", "raw")}
        customer = dict(record.get("customer") or {})
        address = customer.pop("address", None) or {}
        row.update({f"customer_{k}": v for k, v in customer.items()})
        row.update({f"customer_address_{k}": v for k, v in address.items()})
        if record.get("items") is not None:
            row["items"] = json.dumps(record["items"])
        return {k: "" if v is None else v for k, v in row.items()}

    rows = [flat(record) for record in records]
    header = sorted({key for row in rows for key in row})
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return header


def detail(n: int, created: datetime.datetime) -> dict:
    person = n % CUSTOMERS
    cents = 5000 + (n * 37) % 200000
    return {
        "orderId": f"{1000000000000 + n}-01", "sequence": str(n), "status": "invoiced" if n % 10 else "canceled",
        "value": cents + 990, "creationDate": created.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0+00:00",
        "lastChange": created.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0+00:00",
        "totals": [{"id": "Items", "name": "Items", "value": cents}, {"id": "Discounts", "name": "D", "value": 0},
                   {"id": "Shipping", "name": "S", "value": 990}, {"id": "Tax", "name": "T", "value": 0}],
        "items": [{"uniqueId": f"u{n}", "id": str(n % 500), "productId": str(n % 500), "refId": f"R{n % 500}",
                   "ean": "", "name": f"Produto {n % 500}", "quantity": 1, "price": cents, "listPrice": cents,
                   "sellingPrice": cents}],
        "clientProfileData": {"email": f"{person:08x}abcdef@ct.vtex.com.br", "firstName": "Cliente",
                              "lastName": f"N{person}", "documentType": "cpf", "document": f"{10000000000 + person}",
                              "phone": "+5511999990000", "isCorporate": False, "userProfileId": f"up-{person}"},
        "shippingData": {"address": {"addressType": "residential", "receiverName": "Cliente",
                                     "postalCode": "01310-100",
                                     "city": "São Paulo", "state": "SP", "country": "BRA", "street": "Av. Paulista",
                                     "number": str(n % 2000), "neighborhood": "Centro", "complement": ""}},
        "paymentData": {"transactions": [{"payments": [{"paymentSystemName": "Visa", "value": cents + 990,
                                                        "installments": 1}]}]},
        "storePreferencesData": {"currencyCode": "BRL"},
    }


class FakeOms:
    """Orders spread over the last 600 days; list answers honour the 30-page limit."""

    def __init__(self, count: int):
        now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
        step = datetime.timedelta(days=600) / max(1, count)
        self.created = [now - datetime.timedelta(days=600) + step * n for n in range(count)]
        self.cache: dict[str, bytes] = {}

    def order(self, order_id: str) -> bytes:
        n = int(order_id.split("-")[0]) - 1000000000000
        return json.dumps(detail(n, self.created[n])).encode()

    def listing(self, query: dict) -> bytes:
        page, per_page = int(query.get("page", 1)), int(query.get("per_page", 15))
        since, until = WINDOW.match(query["f_creationDate"]).groups()
        lo = bisect.bisect_left(self.created, datetime.datetime.fromisoformat(since.replace("Z", "+00:00")))
        hi = bisect.bisect_right(self.created, datetime.datetime.fromisoformat(until.replace("Z", "+00:00")))
        total = hi - lo
        pages = max(1, -(-total // per_page))
        start = lo + (page - 1) * per_page
        rows = [{"orderId": f"{1000000000000 + n}-01", "creationDate": self.created[n].isoformat(),
                 "status": "invoiced",
                 "totalValue": 0, "clientName": "x", "sequence": str(n), "origin": "Marketplace",
                 "currencyCode": "BRL", "totalItems": 1} for n in range(start, min(hi, start + per_page))]
        return json.dumps({"list": rows, "facets": [], "paging": {"total": total, "pages": pages,
                                                                   "currentPage": page, "perPage": per_page},
                           "stats": {}}).encode()

    def serve(self) -> ThreadingHTTPServer:
        oms = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                parts = urlsplit(self.path)
                if parts.path == "/api/oms/pvt/orders":
                    body = oms.listing({k: v[0] for k, v in parse_qs(parts.query).items()})
                else:
                    body = oms.order(parts.path.rsplit("/", 1)[-1])
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server


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
    from customers.models import Order
    from customers.services import order_ingest
    from customers.services.bulk import orders_bulk_load
    from integrations.connectors.vtex import vtex_order_record
    from integrations.services import integration_create, integration_sync
    from tenants.services import tenant_provision

    settings.DEBUG = False
    settings.INTEGRATIONS_INITIAL_BACKFILL_DAYS = 700
    settings.CDP_ALLOW_PRIVATE_URLS = True  # the fake OMS listens on 127.0.0.1
    call_command("migrate_schemas", "--shared", verbosity=0)
    actor = Actor.system("bench")
    oms = FakeOms(ORDERS)
    server = oms.serve()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    saved_guards = list(registry._quota_guards)
    registry._quota_guards.clear()
    tenants = []
    try:
        sync_tenant = tenant_provision(slug=f"bench-sync-{os.getpid()}", name="Bench sync", actor=actor)
        tenants.append(sync_tenant)
        print(f"VTEX backfill of {ORDERS:,} orders ({CUSTOMERS:,} shoppers) from a local fake OMS...", flush=True)
        with tenant_context(sync_tenant):
            integration = integration_create(integration_type="vtex", account_name="bench", base_url=base_url,
                                             credentials={"app_key": "k", "app_token": "t"}, actor=actor)
            started = time.perf_counter()
            log = integration_sync(integration_id=integration.pk, trigger="bench")
            sync_seconds = time.perf_counter() - started
            stored = Order.objects.filter(source="vtex").count()
        wait_share = log.http_wait_ms / 1000 / sync_seconds if sync_seconds else 0

        ingest_tenant = tenant_provision(slug=f"bench-bare-{os.getpid()}", name="Bench bare ingest", actor=actor)
        tenants.append(ingest_tenant)
        records = [vtex_order_record(detail(n, oms.created[n])) for n in range(ORDERS)]
        with tenant_context(ingest_tenant):
            started = time.perf_counter()
            for start in range(0, len(records), 1000):
                order_ingest(records=records[start:start + 1000], actor=actor, tenant=ingest_tenant,
                             default_source="vtex")
            bare_seconds = time.perf_counter() - started

        # the same orders as a file: the bulk path, and a bare COPY of it into an unindexed table
        path = Path(tempfile.mkdtemp(prefix="cdp-bench-vtex-")) / "orders.csv"
        header = records_csv(path, records)
        bulk_tenant = tenant_provision(slug=f"bench-bulk-{os.getpid()}", name="Bench bulk", actor=actor)
        tenants.append(bulk_tenant)
        with tenant_context(bulk_tenant):
            with connection.cursor() as cursor:
                cursor.execute("CREATE TABLE bench_copy_baseline (" + ", ".join(f'"{c}" text' for c in header) + ")")
            started = time.perf_counter()
            with connection.cursor() as cursor, open(path, "rb") as handle, cursor.cursor.copy(
                    "COPY bench_copy_baseline FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
                while chunk := handle.read(1 << 20):
                    copy.write(chunk)
            copy_seconds = time.perf_counter() - started
            started = time.perf_counter()
            orders_bulk_load(path=path, actor=actor, tenant=bulk_tenant, default_source="vtex")
            bulk_seconds = time.perf_counter() - started
        path.unlink()
        path.parent.rmdir()

        print(f"sync  (HTTP + raw + ingest): {ORDERS / sync_seconds:>8,.0f} orders/s  ({sync_seconds:.1f}s, "
              f"{log.pages} pages, status {log.status}, {stored:,} orders stored)")
        print(f"  waiting on HTTP: {wait_share:.0%} of the sync's wall time ({log.http_wait_ms / 1000:.1f}s)")
        print(f"bare order_ingest, same orders: {ORDERS / bare_seconds:>8,.0f} orders/s  ({bare_seconds:.1f}s)"
              f"  baseline; sync/bare time ratio {sync_seconds / bare_seconds:.2f}x")
        print(f"bulk path, same orders as CSV: {ORDERS / bulk_seconds:>8,.0f} orders/s  ({bulk_seconds:.1f}s);"
              f"  bare COPY: {ORDERS / copy_seconds:,.0f} orders/s  ({copy_seconds:.1f}s)")
    finally:
        registry._quota_guards[:] = saved_guards
        server.shutdown()
        connection.set_schema_to_public()
        for tenant in tenants:
            tenant.delete(force_drop=True)


if __name__ == "__main__":
    main()
