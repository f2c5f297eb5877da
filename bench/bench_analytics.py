"""Full analytics recompute (RFM, CLV, churn, cohorts, KPIs, segments, data quality) for
1,000,000 customers and 5,000,000 orders, target <= 60 s, printed beside two baselines on the
same data:

- analyst: pandas ``read_sql`` of the orders, groupby, ``qcut`` RFM, ``lifetimes`` summary and
  BG/NBD fitted on one row per customer;
- floor: the bare SQL RFM aggregation plus a weighted BG/NBD fit on the compressed rows.

Runs in its own temporary tenant and drops it afterwards. Lower the sizes for a quick look:
BENCH_ANALYTICS_CUSTOMERS=100000 BENCH_ANALYTICS_ORDERS=500000 make bench BENCH_ARGS=bench_analytics
(BENCH_ANALYTICS_BASELINES=0 skips the baselines, which take minutes at full size).
"""

from __future__ import annotations

import datetime
import os
import time

CUSTOMERS = int(os.environ.get("BENCH_ANALYTICS_CUSTOMERS", "1000000"))
ORDERS = int(os.environ.get("BENCH_ANALYTICS_ORDERS", "5000000"))
BASELINES = os.environ.get("BENCH_ANALYTICS_BASELINES", "1") not in ("0", "false", "no")
TARGET_SECONDS = 60.0
AS_OF = datetime.date(2025, 6, 30)
DAYS = 730


def _filler(cursor, table: str, given: set[str]) -> tuple[list[str], list[str]]:
    """NOT NULL columns without a database default that we do not set: typed neutral values, so
    the generator keeps working when colleagues add columns."""
    cursor.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = %s AND is_nullable = 'NO' AND column_default IS NULL", [table])
    neutral = {"text": "''", "character varying": "''", "integer": "0", "bigint": "0", "smallint": "0",
               "numeric": "0", "boolean": "false", "jsonb": "'{}'::jsonb", "ARRAY": "'{}'",
               "timestamp with time zone": "now()", "date": "current_date", "double precision": "0"}
    columns, values = [], []
    for name, data_type in cursor.fetchall():
        if name not in given and name != "id":
            columns.append(name)
            values.append(neutral.get(data_type, "''"))
    return columns, values


def generate(cursor) -> None:
    from customers.models import Customer, Order

    customer_table, order_table = Customer._meta.db_table, Order._meta.db_table
    given = {"email", "first_name", "country", "status", "source"}
    extra_cols, extra_vals = _filler(cursor, customer_table, given)
    cursor.execute(
        f"INSERT INTO {customer_table} (email, first_name, country, status, source"
        f"{''.join(', ' + c for c in extra_cols)}) "
        f"SELECT 'c' || i || '@example.com', 'C' || i, (ARRAY['AR','BR','MX','CL','UY'])[1 + i %% 5], 'active', 'bench'"
        f"{''.join(', ' + v for v in extra_vals)} FROM generate_series(1, %s) i", [CUSTOMERS])
    given = {"customer_id", "source", "external_order_id", "order_date", "status", "currency", "total_amount"}
    extra_cols, extra_vals = _filler(cursor, order_table, given)
    # Customers differ in how often they buy (a skewed pick) and when they started (their id).
    cursor.execute(
        f"""
        INSERT INTO {order_table} (customer_id, source, external_order_id, order_date, status, currency, total_amount
            {''.join(', ' + c for c in extra_cols)})
        SELECT cid, 'bench', 'o' || i,
               (%(as_of)s::date - (random() * %(days)s)::int)::timestamp + interval '12 hours',
               CASE WHEN i %% 20 = 0 THEN 'cancelled' ELSE 'completed' END, 'ARS',
               ROUND(((5 + (cid %% 97) * 3) * (0.5 + random()))::numeric, 2)
               {''.join(', ' + v for v in extra_vals)}
        FROM (
            SELECT i, c.min_id + LEAST(%(n)s - 1, FLOOR(%(n)s * POWER(random(), 1.7)))::int AS cid
            FROM generate_series(1, %(orders)s) i, (SELECT MIN(id) AS min_id FROM {customer_table}) c
        ) picks
        """,
        {"n": CUSTOMERS, "as_of": AS_OF, "days": DAYS, "orders": ORDERS},
    )
    cursor.execute(f"ANALYZE {customer_table}")
    cursor.execute(f"ANALYZE {order_table}")


def analyst_baseline(connection) -> float:
    """What an analyst would write: everything in pandas, lifetimes on one row per customer."""
    import warnings

    import pandas as pd
    from lifetimes import BetaGeoFitter
    from lifetimes.utils import summary_data_from_transaction_data

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT customer_id, order_date, total_amount FROM customers_order WHERE status = 'completed'")
        orders = pd.DataFrame(cursor.fetchall(), columns=["customer_id", "order_date", "total_amount"])
    orders["total_amount"] = orders["total_amount"].astype(float)
    orders["order_date"] = pd.to_datetime(orders["order_date"], utc=True).dt.tz_localize(None)
    as_of = pd.Timestamp(AS_OF)
    rfm = orders.groupby("customer_id").agg(last=("order_date", "max"), frequency=("order_date", "count"),
                                            monetary=("total_amount", "sum"))
    rfm["recency"] = (as_of - rfm["last"]).dt.days
    rfm["r"] = pd.qcut(rfm["recency"].rank(method="first"), 5, labels=[5, 4, 3, 2, 1])
    rfm["f"] = pd.qcut(rfm["frequency"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5])
    rfm["m"] = pd.qcut(rfm["monetary"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5])
    summary = summary_data_from_transaction_data(orders, "customer_id", "order_date", "total_amount",
                                                 observation_period_end=as_of, freq="D", freq_multiplier=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
    return time.perf_counter() - started


def floor_baseline(connection, tenant) -> float:
    """The least any implementation must do: one SQL aggregation and a weighted fit."""
    from analytics import btyd
    from analytics.services.clv import clv_summary_frame

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT customer_id, MAX(order_date), COUNT(*), SUM(total_amount) FROM customers_order "
                       "WHERE status = 'completed' GROUP BY customer_id")
        cursor.fetchall()
    frame, _unit = clv_summary_frame(tenant=tenant, as_of=AS_OF)
    btyd.fit_bgnbd(frame["frequency"], frame["recency"], frame["T"])
    return time.perf_counter() - started


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cdp.settings.local")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django_tenants.utils import tenant_context

    from analytics.services import analytics_run, segment_create
    from cdp.context import Actor
    from tenants.services import tenant_provision

    settings.DEBUG = False
    call_command("migrate_schemas", "--shared", verbosity=0)
    actor = Actor.system("bench")
    tenant = tenant_provision(slug=f"bench-analytics-{os.getpid()}", name="Bench analytics", actor=actor)
    tenant.settings = {**tenant.settings, "timezone": "UTC"}
    tenant.save(update_fields=["settings"])
    try:
        with tenant_context(tenant):
            print(f"generating {CUSTOMERS:,} customers and {ORDERS:,} orders...", flush=True)
            started = time.perf_counter()
            with connection.cursor() as cursor:
                generate(cursor)
            print(f"  in {time.perf_counter() - started:.1f}s", flush=True)
            for name, rules in [("Champions AR", {"op": "and", "rules": [
                    {"field": "rfm_segment", "operator": "eq", "value": "champions"},
                    {"field": "country", "operator": "eq", "value": "AR"}]}),
                    ("High CLV at risk", {"op": "and", "rules": [
                        {"field": "clv_tier", "operator": "eq", "value": "high"},
                        {"field": "churn_band", "operator": "in", "value": ["at_risk", "churning"]}]})]:
                segment_create(name=name, rules=rules, actor=actor, tenant=tenant)
            started = time.perf_counter()
            job = analytics_run(tenant=tenant, actor=actor, as_of=AS_OF,
                                progress=lambda line: print("  " + line, flush=True))
            full = time.perf_counter() - started
            print(f"full recompute: {full:8.1f}s  target <= {TARGET_SECONDS:.0f}s  status {job.status}"
                  f"  clv {job.summary.get('clv', {}).get('status')}  churn {job.summary.get('churn', {}).get('method')}")
            if job.error:
                print("  error:", job.error.splitlines()[0])
            if BASELINES:
                floor = floor_baseline(connection, tenant)
                print(f"floor (SQL RFM aggregation + weighted BG/NBD): {floor:8.1f}s")
                analyst = analyst_baseline(connection)
                print(f"analyst (pandas + qcut + lifetimes per customer, RFM+BG/NBD only): {analyst:8.1f}s")
                print(f"side by side: ours {full:.1f}s (all 7 steps) | floor {floor:.1f}s | analyst {analyst:.1f}s")
    finally:
        connection.set_schema_to_public()
        tenant.delete(force_drop=True)


if __name__ == "__main__":
    main()
