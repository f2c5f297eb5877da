"""Lists at scale (issue #18 item 3): the orders and customers lists of the API at N orders, the
way they answered before (an exact COUNT(*) and OFFSET paging) against now (a count that is exact
only up to CDP_EXACT_COUNT_LIMIT and the planner's estimate past it, and cursor pages that cost
the same at any depth). Every sample is a full request through Django (session, tenant routing,
DRF, JSON), in process. Target (the issue's): any page of any list under 100 ms p95 at 5,000,000
orders.

Runs in its own temporary tenant filled set-based with SQL (N orders, N / 4 customers), then
VACUUM (ANALYZE), and drops it afterwards. ``BENCH_LISTS_ORDERS`` sets N (default 5,000,000, the
issue's scale; e.g. 100000 for a quick look), ``BENCH_LISTS_SAMPLES`` the requests per figure.
"""

from __future__ import annotations

import base64
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import percentiles  # noqa: E402

ORDERS = int(os.environ.get("BENCH_LISTS_ORDERS", "5000000"))
SAMPLES = int(os.environ.get("BENCH_LISTS_SAMPLES", "30"))
PAGE_SIZE = 50
DEEP_PAGE = 2000  # the issue's ?page=2000: 100,000 rows deep at 50 a page

FILL_SQL = """
INSERT INTO customers_customer (id, email, phone, document_type, document_number, first_name, last_name,
    gender, city, state, country, customer_type, status, marketing_consent, tags, metadata, notes, source,
    field_sources, total_orders, total_spent, avg_order_value, is_pseudonymized, created_at, updated_at)
SELECT g, 'cliente' || g || '@example.com', '+54911' || lpad((g % 100000000)::text, 8, '0'), 'dni',
       (20000000 + g)::text, (ARRAY['Lucía','Mateo','Sofía','Juan','Ana','Pedro','Camila','Diego'])[1 + g % 8],
       (ARRAY['González','Pérez','Silva','Gómez','Díaz','Romero','Souza','Castro'])[1 + (g / 8) % 8],
       '', 'Buenos Aires', '', 'AR', 'b2c', 'active', false, '{}', '{}', '', 'vtex', '{}', 0, 0, 0, false,
       now() - (g % 900) * interval '1 day', now()
  FROM generate_series(1, {CUSTOMERS}) g;
SELECT setval(pg_get_serial_sequence('customers_customer', 'id'), {CUSTOMERS});
INSERT INTO customers_order (customer_id, source, external_order_id, order_date, status, currency, subtotal,
    tax_amount, shipping_cost, discount_amount, total_amount, payment_method, shipping_address, raw, created_at,
    updated_at, order_number, payment_status, shipping_method, utm_source, utm_medium, utm_campaign)
SELECT 1 + (n::bigint * 7919) % {CUSTOMERS}, (ARRAY['vtex','mercadolibre','shopify'])[1 + n % 3], 'o-' || n,
       now() - (n::bigint * 613 % 63072000) * interval '1 second',
       (ARRAY['completed','completed','completed','paid','cancelled'])[1 + n % 5],
       'ARS', NULL, NULL, NULL, NULL, (1000 + (n * 37) % 90000) / 10.0, 'credit_card', NULL, NULL, now(), now(),
       n::text, '', '', '', '', ''
  FROM generate_series(1, {ORDERS}) n;
VACUUM (ANALYZE) customers_customer, customers_order;
"""


def cursor_at(*key) -> str:
    """A cursor continuing after the row whose ordering values are ``key`` (as
    ``cdp.api.pagination.Cursors`` writes one: how a client deep in a walk holds it)."""
    body = json.dumps({"k": [value.isoformat() if hasattr(value, "isoformat") else value for value in key], "r": 0})
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp.settings.local")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django_tenants.utils import tenant_context

    from cdp.context import Actor
    from customers.models import Customer, Order
    from tenants.models import Role, User
    from tenants.services import membership_set, tenant_provision, user_create

    settings.DEBUG = False
    customers = max(1, ORDERS // 4)
    call_command("migrate_schemas", "--shared", verbosity=0)
    actor = Actor.system("bench")
    slug = f"bench-lists-{os.getpid()}"
    tenant = tenant_provision(slug=slug, name="Bench lists", actor=actor)
    user = None
    try:
        started = time.perf_counter()
        with tenant_context(tenant), connection.cursor() as cursor:
            sql = FILL_SQL.replace("{CUSTOMERS}", str(customers)).replace("{ORDERS}", str(ORDERS))
            for statement in filter(str.strip, sql.split(";\n")):
                cursor.execute(statement)
        print(f"filled {ORDERS:,} orders, {customers:,} customers in {time.perf_counter() - started:.0f}s "
              f"(page size {PAGE_SIZE}, exact counts up to {settings.CDP_EXACT_COUNT_LIMIT:,} rows)", flush=True)
        # A signed-in member (as the 360 benchmark): an API key's request rate would throttle the run.
        user = user_create(email=f"{slug}@bench.test", password=None, actor=actor)
        membership_set(user=user, tenant=tenant, role=Role.ANALYST, actor=actor)
        connection.set_schema_to_public()
        client = Client(HTTP_HOST=f"{slug}.{settings.CDP_TENANT_BASE_DOMAIN}")
        client.force_login(user)
        limit = settings.CDP_EXACT_COUNT_LIMIT
        rng = random.Random(42)

        database = [0.0]

        def query_timer(execute, sql, params, many, context):
            t0 = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                database[0] += time.perf_counter() - t0

        def timed(urls: list[str]) -> tuple[list[float], list[float]]:
            """(request seconds, seconds of those spent in SQL) per URL: on a busy machine the
            second says what the list itself costs."""
            client.get(urls[0])  # warm the path
            out, sql = [], []
            for url in urls:
                database[0] = 0.0
                with connection.execute_wrapper(query_timer):
                    t0 = time.perf_counter()
                    response = client.get(url)
                    out.append(time.perf_counter() - t0)
                sql.append(database[0])
                assert response.status_code == 200, (url, response.status_code, response.content[:300])
            return out, sql

        with tenant_context(tenant):
            step = max(1, ORDERS // 1000)
            order_keys = [key for n, key in enumerate(Order.objects.order_by("-order_date", "-id")
                                                      .values_list("order_date", "id").iterator()) if n % step == 0]
            step = max(1, customers // 1000)
            customer_keys = [(pk,) for n, pk in enumerate(Customer.objects.order_by("-id")
                                                         .values_list("id", flat=True).iterator()) if n % step == 0]
        connection.set_schema_to_public()
        deep_orders = min(DEEP_PAGE, max(1, ORDERS // PAGE_SIZE))
        deep_customers = min(DEEP_PAGE, max(1, customers // PAGE_SIZE))
        rows = []
        for name, base, deep, positions in (("orders", "/api/v1/orders/", deep_orders, order_keys),
                                            ("customers", "/api/v1/customers/", deep_customers, customer_keys)):
            print(f"GET {base} ({ORDERS if name == 'orders' else customers:,} rows):", flush=True)
            figures = {}
            settings.CDP_EXACT_COUNT_LIMIT = 10 ** 12  # the baseline: an exact count, as before
            figures["before: page 1, exact count"] = timed([base] * SAMPLES)
            figures[f"before: ?page={deep}, exact count + OFFSET"] = timed([f"{base}?page={deep}"] * SAMPLES)
            settings.CDP_EXACT_COUNT_LIMIT = limit
            figures["now: page 1, estimated count"] = timed([base] * SAMPLES)
            figures[f"now: ?page={deep}, estimated count + OFFSET"] = timed([f"{base}?page={deep}"] * SAMPLES)
            figures["now: ?status=paid page 1 (filtered estimate)" if name == "orders" else
                    "now: ?search=lucia page 1"] = timed(
                [f"{base}?status=paid" if name == "orders" else f"{base}?search=lucia"] * SAMPLES)
            figures["now: cursor, first page"] = timed([f"{base}?cursor="] * SAMPLES)
            figures["now: cursor, any depth (random positions)"] = timed(
                [f"{base}?cursor={cursor_at(*rng.choice(positions))}" for _ in range(SAMPLES)])
            for label, (samples, sql) in figures.items():
                print(f"  {label:<48} {percentiles(samples)}", flush=True)
                print(f"  {'  of which SQL':<48} {percentiles(sql)}", flush=True)
                rows.append((name, label, samples))
        worst = max(sorted(samples)[min(len(samples) - 1, int(0.95 * len(samples)))]
                    for _name, label, samples in rows if label.startswith("now: cursor"))
        print(f"slowest cursor page p95: {worst * 1000:.1f} ms at {ORDERS:,} orders  target < 100 ms", flush=True)
    finally:
        connection.set_schema_to_public()
        if user is not None:
            User.objects.filter(pk=user.pk).delete()
        tenant.delete(force_drop=True)


if __name__ == "__main__":
    main()
