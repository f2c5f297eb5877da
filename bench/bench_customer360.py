"""Customer 360 read latency at 1,000,000 customers: p50/p95/p99 of the selector+serializer (what
the API does) and of full HTTP requests through Django (auth, tenant routing, DRF, JSON).
Target: p95 under 25 ms.

Runs in its own temporary tenant, filled set-based with SQL (1M customers, their identities,
2.5M orders, addresses, some loyalty and credit accounts), and drops it afterwards. The fill ends
with VACUUM (ANALYZE), the state autovacuum keeps a live database in; without it, autovacuum
processes the freshly written millions of rows while the latencies are being measured.
BENCH_360_CUSTOMERS lowers the size for a quick look.
"""

from __future__ import annotations

import os
import random
import statistics
import time

CUSTOMERS = int(os.environ.get("BENCH_360_CUSTOMERS", "1000000"))
SAMPLES = int(os.environ.get("BENCH_360_SAMPLES", "1000"))
HTTP_SAMPLES = int(os.environ.get("BENCH_360_HTTP_SAMPLES", "300"))

FILL_SQL = """
INSERT INTO customers_customer (id, email, phone, document_type, document_number, first_name, last_name, birth_date,
    gender, city, state, country, customer_type, status, marketing_consent, tags, metadata, notes, source,
    field_sources, total_orders, total_spent, avg_order_value, is_pseudonymized, created_at, updated_at)
SELECT g, 'cliente' || g || '@example.com', '+54911' || lpad((g % 100000000)::text, 8, '0'), 'dni',
       NULL, (ARRAY['Lucía','Mateo','Sofía','Juan','Ana','Pedro','Camila','Diego'])[1 + g % 8],
       (ARRAY['González','Pérez','Silva','Gómez','Díaz','Romero','Souza','Castro'])[1 + (g / 8) % 8],
       date '1960-01-01' + (g % 15000), (ARRAY['female','male',''])[1 + g % 3],
       (ARRAY['Buenos Aires','Córdoba','São Paulo','Santiago','Bogotá'])[1 + g % 5], '',
       (ARRAY['AR','AR','BR','CL','CO'])[1 + g % 5], 'b2c', 'active', g % 2 = 0, '{}', '{}', '', 'vtex', '{}',
       0, 0, 0, false, now(), now()
  FROM generate_series(1, {CUSTOMERS}) g;
SELECT setval(pg_get_serial_sequence('customers_customer', 'id'), {CUSTOMERS});
INSERT INTO customers_customeridentity (customer_id, source, external_id, created_at, last_seen_at)
SELECT g, (ARRAY['vtex','mercadolibre'])[1 + g % 2], 'ext-' || g, now(), now() FROM generate_series(1, {CUSTOMERS}) g;
INSERT INTO customers_address (customer_id, address_type, recipient_name, line1, line2, number, neighborhood, city,
    state, postal_code, country, phone, is_default, is_active, source, created_at, updated_at)
SELECT g, 'shipping', '', 'Av. Corrientes', '', (g % 5000)::text, '', 'Buenos Aires', 'CABA', 'C1043', 'AR', '',
       true, true, 'vtex', now(), now()
  FROM generate_series(1, {CUSTOMERS}, 2) g;
INSERT INTO customers_order (customer_id, source, external_order_id, order_date, status, currency, subtotal,
    tax_amount, shipping_cost, discount_amount, total_amount, payment_method, shipping_address, raw, created_at,
    updated_at, order_number, payment_status, shipping_method, utm_source, utm_medium, utm_campaign)
SELECT 1 + (n::bigint * 7919) % {CUSTOMERS}, (ARRAY['vtex','mercadolibre','shopify'])[1 + n % 3], 'o-' || n,
       now() - ((n * 31) % 700) * interval '1 day', (ARRAY['completed','completed','completed','paid','cancelled'])[1 + n % 5],
       'ARS', NULL, NULL, NULL, NULL, (1000 + (n * 37) % 90000) / 10.0, 'credit_card', NULL, NULL, now(), now(),
       n::text, '', '', '', '', ''
  FROM generate_series(1, {ORDERS}) n;
UPDATE customers_customer c SET total_orders = a.n, total_spent = a.s, avg_order_value = round(a.s / a.n, 2),
       first_purchase_at = a.f, last_purchase_at = a.l
  FROM (SELECT customer_id, count(*) n, sum(total_amount) s, min(order_date) f, max(order_date) l
          FROM customers_order WHERE status NOT IN ('cancelled', 'refunded') GROUP BY customer_id) a
 WHERE c.id = a.customer_id;
INSERT INTO customers_loyaltyaccount (customer_id, points_balance, lifetime_points, points_redeemed, points_expired,
    tier, rolling_spend, rolling_points, created_at, updated_at)
SELECT g, g % 5000, g % 9000, 0, 0, 'silver', 0, 0, now(), now() FROM generate_series(1, {CUSTOMERS}, 10) g;
INSERT INTO customers_creditaccount (customer_id, status, credit_limit, credit_used, currency, payment_term_days,
    approval_note, approved_by, suspension_reason, created_at, updated_at)
SELECT g, 'approved', 100000, 2500, 'ARS', 30, '', 'bench', '', now(), now() FROM generate_series(1, {CUSTOMERS}, 100) g;
VACUUM (ANALYZE) customers_customer, customers_order, customers_customeridentity, customers_address,
    customers_loyaltyaccount, customers_creditaccount;
"""


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return f"p50 {pick(0.50):6.2f} ms  p95 {pick(0.95):6.2f} ms  p99 {pick(0.99):6.2f} ms  " \
           f"(mean {statistics.mean(ordered) * 1000:.2f} ms, n={len(ordered)})"


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp.settings.local")
    django.setup()
    from bench.common import documents_fill
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django_tenants.utils import tenant_context

    from cdp.context import Actor
    from customers.api.serializers import Customer360OutputSerializer
    from customers.masking import FULL, MASKED
    from customers.services.access import access_record
    from customers.selectors import customer_360
    from tenants.models import Role, User
    from tenants.services import membership_set, tenant_provision, user_create

    settings.DEBUG = False
    call_command("migrate_schemas", "--shared", verbosity=0)
    actor = Actor.system("bench")
    slug = f"bench-c360-{os.getpid()}"
    tenant = tenant_provision(slug=slug, name="Bench 360", actor=actor)
    user = None
    try:
        started = time.perf_counter()
        with tenant_context(tenant), connection.cursor() as cursor:
            sql = FILL_SQL.replace("{CUSTOMERS}", str(CUSTOMERS)).replace("{ORDERS}", str(int(CUSTOMERS * 2.5)))
            for statement in filter(str.strip, sql.split(";\n")):
                cursor.execute(statement)
            documents_fill(cursor, CUSTOMERS)  # sealed and hashed: SQL cannot
        print(f"filled {CUSTOMERS:,} customers, {int(CUSTOMERS * 2.5):,} orders in "
              f"{time.perf_counter() - started:.0f}s", flush=True)

        rng = random.Random(42)
        ids = [rng.randrange(1, CUSTOMERS + 1) for _ in range(SAMPLES)]
        with tenant_context(tenant):
            for customer_id in ids[:50]:  # warm the caches and the connection
                Customer360OutputSerializer(customer_360(customer_id=customer_id)).data
            timings = []
            for customer_id in ids:
                t0 = time.perf_counter()
                Customer360OutputSerializer(customer_360(customer_id=customer_id)).data
                timings.append(time.perf_counter() - t0)
        print(f"customer 360 (selector + serializer): {_percentiles(timings)}  target p95 < 25 ms")

        # Masking by role and the data-access log (issue #21): the same reads, as a viewer sees them
        # (masked, sensitive fields hidden) plus the one access-log insert a read costs, against the
        # full view without a log entry. Interleaved so that both see the same caches.
        with tenant_context(tenant):
            full, masked, masked_only = [], [], []
            for customer_id in ids:
                customer_360(customer_id=customer_id)  # each id warm before any of the three timings
                t0 = time.perf_counter()
                Customer360OutputSerializer(customer_360(customer_id=customer_id), context={"visibility": FULL}).data
                t1 = time.perf_counter()
                Customer360OutputSerializer(customer_360(customer_id=customer_id), context={"visibility": MASKED}).data
                masked_only.append(time.perf_counter() - t1)
                t1 = time.perf_counter()
                view = customer_360(customer_id=customer_id)
                access_record(actor=actor, action="profile.read", channel="api", resource_type="customer",
                              resource_id=customer_id, rows=1, masked=True, path="/bench")
                Customer360OutputSerializer(view, context={"visibility": MASKED}).data
                t2 = time.perf_counter()
                full.append(t1 - t0)
                masked.append(t2 - t1)
        overhead = [m - f for m, f in zip(sorted(masked), sorted(full), strict=True)]
        print(f"customer 360, full view, no log:        {_percentiles(full)}")
        print(f"customer 360, masked view, no log:      {_percentiles(masked_only)}")
        print(f"customer 360, masked view + access log: {_percentiles(masked)}")
        print(f"overhead at equal percentiles: p50 {overhead[len(overhead) // 2] * 1000:.2f} ms, "
              f"p95 {overhead[int(0.95 * len(overhead))] * 1000:.2f} ms  target < 2 ms")

        user = user_create(email=f"{slug}@bench.test", password=None, actor=actor)
        membership_set(user=user, tenant=tenant, role=Role.VIEWER, actor=actor)
        connection.set_schema_to_public()
        client = Client(HTTP_HOST=f"{slug}.{settings.CDP_TENANT_BASE_DOMAIN}")
        client.force_login(user)
        for customer_id in ids[:20]:
            assert client.get(f"/api/v1/customers/{customer_id}/").status_code == 200
        timings = []
        for customer_id in ids[:HTTP_SAMPLES]:
            t0 = time.perf_counter()
            response = client.get(f"/api/v1/customers/{customer_id}/")
            timings.append(time.perf_counter() - t0)
            assert response.status_code == 200, response.status_code
        print(f"GET /api/v1/customers/{{id}}/ (full HTTP stack): {_percentiles(timings)}")
    finally:
        connection.set_schema_to_public()
        if user is not None:
            User.objects.filter(pk=user.pk).delete()
        tenant.delete(force_drop=True)


if __name__ == "__main__":
    main()
