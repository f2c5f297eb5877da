"""The SQL of the analytics recompute, in one place and tested (tests/analytics).

A run reads the orders once (``counted_orders_sql``: the tenant's counted-sale rule, owned by
customers; merged customers excluded; local dates in the tenant's timezone) and computes in
``analytics.history`` with numpy. Per-customer
results come back in bulk: a binary COPY of the arrays into a temporary table (``stage_arrays``)
and one ``INSERT … SELECT`` into the result table, or a text COPY for churn rows and their JSON.
A result table that is replaced whole is emptied and loaded with its plain indexes built once
afterwards (``_rewrite``, customers' ``indexes_deferred``). Nothing here loops per customer.

Why this module reads customers' tables directly (``Customer``, ``Order``), where other apps go
through customers' services and selectors: a run reads every counted order of the tenant once,
as a few binary arrays, and a selector returning rows or a queryset would cost more than the
computation it feeds. What it reads is still customers' to define: which orders count
(``counted_statuses``, the tenant's counted-sale rule) and what a merged customer is
(``Customer.Status.MERGED``) are taken from customers and passed as parameters, never restated.
"""

from __future__ import annotations

import datetime
import math
import struct

import numpy as np
from django.db import connection, transaction
from psycopg.copy import QueuedLibpqWriter

from analytics.models import (
    AdPerformanceDaily,
    CohortCell,
    CustomerChurn,
    CustomerClv,
    CustomerRfm,
    DailyKpi,
    RfmSegmentDefinition,
    RfmSnapshot,
)
from customers.models import Customer, Order
from customers.selectors.sales import counted_statuses
from customers.services.bulk.indexes import indexes_deferred

# Aggregates over millions of rows stay in memory, for the step's transaction only.
WORK_MEM = "SET LOCAL work_mem = '256MB'"

_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_BINARY = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "float8": ">f8", "bool": "?", "date": ">i4"}


#: Orders per array: PostgreSQL caps one value at 1 GB (~89 million bigints with their headers).
ORDERS_PER_ARRAY = 20_000_000


def counted_orders_sql(*, tz: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every counted order of a customer that is not merged away, as three arrays: customer id,
    local purchase date (days since 2000-01-01 in ``tz``) and total in cents. One scan; the
    values travel as a few binary arrays (one set per range of customers) instead of rows."""
    orders, customers = Order._meta.db_table, Customer._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), 0) FROM {customers}")
        low, high = cursor.fetchone()
        cursor.execute("SELECT GREATEST(reltuples, pg_relation_size(oid) / 64) FROM pg_class WHERE oid = %s::regclass",
                       [orders])
        estimate = max(float(cursor.fetchone()[0]), 1.0)
    width = max(1, math.ceil((high - low + 1) * ORDERS_PER_ARRAY / estimate))
    # ``timestamptz::date`` in the session's zone is the local date, several times cheaper than
    # ``AT TIME ZONE`` per row. The zone is set for this transaction only (hence the atomic block,
    # even when called outside one) and restored right after.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('TimeZone'), set_config('TimeZone', %s, true)", [tz])
        zone = cursor.fetchone()[0]
        customer_id, day, cents = _fetch_arrays(
            f"SELECT array_send(array_agg(customer_id)), array_send(array_agg(order_date::date)), "
            f"array_send(array_agg((total_amount * 100)::bigint)) FROM {orders} WHERE status = ANY(%(statuses)s) "
            f"GROUP BY (customer_id - %(low)s) / %(width)s",
            {"statuses": list(counted_statuses()), "low": low, "width": width},
            [">i8", ">i4", ">i8"])
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [zone])
    # Merged customers are few: dropping their orders here is cheaper than an anti-join per order.
    (merged,) = _fetch_arrays(f"SELECT array_send(array_agg(id)) FROM {customers} WHERE status = %(merged)s",
                              {"merged": Customer.Status.MERGED}, [">i8"])
    if len(merged):
        keep = ~np.isin(customer_id, merged)
        customer_id, day, cents = customer_id[keep], day[keep], cents[keep]
    return customer_id, day, cents


def attributed_orders_sql(*, tz: str, until: datetime.date) -> list[tuple]:
    """Counted orders carrying a UTM source, up to ``until`` (local dates in ``tz``), grouped by
    (local day, lowercased UTM source, UTM campaign): orders, total in cents, and how many were
    the customer's first counted order (a new customer). Merged customers' orders are left out,
    as in ``counted_orders_sql``; a customer's first order is counted on all their orders."""
    orders, customers = Order._meta.db_table, Customer._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('TimeZone'), set_config('TimeZone', %s, true)", [tz])
        zone = cursor.fetchone()[0]
        cursor.execute(
            f"""
            SELECT day, source, campaign, count(*), sum(cents)::bigint, count(*) FILTER (WHERE first)
              FROM (SELECT o.order_date::date AS day, lower(trim(o.utm_source)) AS source,
                           trim(o.utm_campaign) AS campaign, (o.total_amount * 100)::bigint AS cents,
                           row_number() OVER (PARTITION BY o.customer_id ORDER BY o.order_date, o.id) = 1 AS first
                      FROM {orders} o JOIN {customers} c ON c.id = o.customer_id AND c.status <> %(merged)s
                     WHERE o.status = ANY(%(statuses)s)) x
             WHERE source <> '' AND day <= %(until)s
             GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            """, {"statuses": list(counted_statuses()), "merged": Customer.Status.MERGED, "until": until})
        rows = cursor.fetchall()
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [zone])
    return rows


def ad_performance_write_sql(*, as_of: datetime.date, rows: list[tuple]) -> int:
    """Replace the ad performance rows up to ``as_of`` by ``rows`` (in AdPerformanceDaily column
    order below)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AdPerformanceDaily._meta.db_table} WHERE date <= %s", [as_of])
    return copy_rows(model=AdPerformanceDaily, rows=rows, columns=[
        "date", "channel", "campaign_id", "campaign_name", "spend", "clicks", "impressions", "orders", "revenue",
        "new_customers", "cac", "roas", "as_of"])


def _fetch_arrays(query: str, params, dtypes: list[str]) -> list[np.ndarray]:
    """Run ``query`` (rows of ``array_send(array_agg(…))`` values without NULL elements, one per
    dtype) and return each column's arrays concatenated."""
    with connection.cursor() as cursor:
        cursor.execute(WORK_MEM)
        # Parallel workers would each build a partial array and pay to merge them: slower.
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        with cursor.cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT binary)", params) as copy:
            data = b"".join(bytes(chunk) for chunk in copy)
    parts: list[list[np.ndarray]] = [[] for _ in dtypes]
    offset = len(_COPY_HEADER)
    while True:
        (fields,) = struct.unpack_from(">h", data, offset)
        offset += 2
        if fields < 0:  # the trailer
            break
        for index, dtype in enumerate(dtypes):
            (length,) = struct.unpack_from(">i", data, offset)
            offset += 4
            parts[index].append(_array(None if length < 0 else memoryview(data)[offset:offset + length], dtype))
            offset += max(length, 0)
    return [np.concatenate(arrays) if arrays else _array(None, dtype)
            for arrays, dtype in zip(parts, dtypes, strict=True)]


def _array(value, dtype: str) -> np.ndarray:
    """A one-dimensional array without NULLs from PostgreSQL's binary array format."""
    native = np.dtype(dtype).newbyteorder("=")
    if value is None:
        return np.zeros(0, dtype=native)
    ndim, _flags, _oid = struct.unpack_from(">iii", value, 0)
    if ndim == 0:
        return np.zeros(0, dtype=native)
    (count,) = struct.unpack_from(">i", value, 12)
    records = np.frombuffer(value, dtype=np.dtype([("length", ">i4"), ("value", dtype)]), count=count, offset=20)
    return records["value"].astype(native)


def stage_arrays(*, table: str, columns: list[tuple[str, str, np.ndarray]]) -> int:
    """(Re)create the temporary ``table`` with ``columns`` = [(name, type, values)], types among
    int2, int4, int8, float8, bool and date (day numbers), and fill it with one binary COPY.
    Returns the row count. The caller drops it (``unstage``)."""
    count = len(columns[0][2])
    layout = [("fields", ">i2")]
    for index, (_name, kind, _values) in enumerate(columns):
        layout += [(f"l{index}", ">i4"), (f"v{index}", _BINARY[kind])]
    rows = np.empty(count, dtype=np.dtype(layout))
    rows["fields"] = len(columns)
    for index, (_name, kind, values) in enumerate(columns):
        rows[f"l{index}"] = np.dtype(_BINARY[kind]).itemsize
        rows[f"v{index}"] = values
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE TEMP TABLE {table} ({', '.join(f'{name} {kind}' for name, kind, _ in columns)})")
        with cursor.cursor.copy(f"COPY {table} FROM STDIN (FORMAT binary)") as copy:
            copy.write(_COPY_HEADER)
            step = max(1, (16 << 20) // rows.itemsize)
            for start in range(0, count, step):
                copy.write(rows[start:start + step].tobytes())
            copy.write(b"\xff\xff")
    return count


def unstage(*tables: str) -> None:
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")


def _rewrite(cursor, model, load, *, rows: int) -> None:
    """Replace every row of ``model``'s table by the ``rows`` that ``load(cursor)`` inserts: empty
    it, then load with its plain indexes dropped and rebuilt once afterwards when the load is
    large (customers' ``indexes_deferred``, the one rule for that: unique indexes stay, a lock it
    cannot get in time keeps the indexes). Building an index once over a million keys is several
    times cheaper than a million insertions; readers wait for the commit (TRUNCATE locks the
    table until then anyway)."""
    table = model._meta.db_table
    cursor.execute(f"TRUNCATE {table}")
    with indexes_deferred(cursor, table, rows):
        load(cursor)


def table_clear(*, model) -> None:
    """Empty a per-customer result table (CLV or churn rows) without fetching its rows."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {model._meta.db_table}")


def rfm_cells_sql() -> np.ndarray:
    """The segment of each of the 125 (R, F, M) score cells: the first active definition by
    priority (then code) whose box holds it. Returns a 5×5×5 array of codes ('' if none)."""
    cells = np.full((5, 5, 5), "", dtype=object)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT DISTINCT ON (r, f, m) r, f, m, d.code
            FROM generate_series(1, 5) r, generate_series(1, 5) f, generate_series(1, 5) m,
                 {RfmSegmentDefinition._meta.db_table} d
            WHERE d.is_active AND r BETWEEN d.r_min AND d.r_max AND f BETWEEN d.f_min AND d.f_max
              AND m BETWEEN d.m_min AND d.m_max
            ORDER BY r, f, m, d.priority, d.code
            """
        )
        for r, f, m, code in cursor.fetchall():
            cells[r - 1, f - 1, m - 1] = code
    return cells


def rfm_write_sql(*, stage: str, codes: list[str], as_of: datetime.date, replace_current: bool,
                  rows: int) -> dict[str, int]:
    """From ``stage`` (``rows`` rows) (customer_id, recency_days, frequency, monetary_cents, r, f, m, segment = an
    index into ``codes``): replace the snapshot for ``as_of`` and, if ``replace_current``, every
    current row. Returns the customers per segment, ordered by segment."""
    columns = "customer_id, as_of, recency_days, frequency, monetary, r_score, f_score, m_score, rfm_score, segment"
    select = f"""
        SELECT customer_id, %(as_of)s::date, recency_days, frequency, monetary_cents::numeric / 100, r, f, m,
               r::text || f::text || m::text, (%(codes)s::text[])[segment + 1]
        FROM {stage}
    """
    params = {"as_of": as_of, "codes": codes}
    with connection.cursor() as cursor:
        cursor.execute(WORK_MEM)
        cursor.execute(f"DELETE FROM {RfmSnapshot._meta.db_table} WHERE as_of = %s", [as_of])
        cursor.execute(f"INSERT INTO {RfmSnapshot._meta.db_table} ({columns}) {select}", params)
        if replace_current:
            _rewrite(cursor, CustomerRfm,
                     lambda c: c.execute(f"INSERT INTO {CustomerRfm._meta.db_table} ({columns}) {select}", params),
                     rows=rows)
        cursor.execute(f"SELECT (%(codes)s::text[])[segment + 1] AS code, COUNT(*) FROM {stage} GROUP BY 1 ORDER BY 1",
                       params)
        return dict(cursor.fetchall())


def clv_write_sql(*, stage: str, log_id: int, as_of: datetime.date, tiers: list[str], rows: int) -> None:
    """Replace every CLV row by ``stage`` (``rows`` rows) (customer_id, frequency, recency, t, monetary_cents,
    probability_alive, expected_purchases, predicted_cents, historical_cents, total_cents, tier =
    an index into ``tiers``, percentile)."""
    insert = f"""
        INSERT INTO {CustomerClv._meta.db_table} (customer_id, log_id, as_of, frequency, recency, "T", monetary_value,
            probability_alive, expected_purchases, predicted_value, historical_value, total_clv, tier, percentile)
        SELECT customer_id, %(log)s, %(as_of)s::date, frequency, recency, t, monetary_cents::numeric / 100,
               probability_alive, expected_purchases, predicted_cents::numeric / 100, historical_cents::numeric / 100,
               total_cents::numeric / 100, (%(tiers)s::text[])[tier + 1], percentile
        FROM {stage}
    """
    params = {"log": log_id, "as_of": as_of, "tiers": tiers}
    with connection.cursor() as cursor:
        _rewrite(cursor, CustomerClv, lambda c: c.execute(insert, params), rows=rows)


def churn_write_sql(*, chunks, rows: int) -> int:
    """Replace every churn row by the ``rows`` rows of ``chunks``: COPY text (tab-separated lines of customer_id,
    log_id, as_of, probability, band, method, days_since_last_purchase, predicted_churn_date,
    factors as JSON). Written while the caller formats the next chunk. Returns the row count."""
    table, count = CustomerChurn._meta.db_table, [0]
    columns = ("customer_id, log_id, as_of, probability, band, method, days_since_last_purchase, "
               "predicted_churn_date, factors")

    def load(cursor):
        # The queued writer sends from a thread, so formatting the next chunk overlaps the server
        # parsing this one (the JSON parse is the slow part).
        writer = QueuedLibpqWriter(cursor.cursor)
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN", writer=writer) as copy:
            for rows, text in chunks:
                copy.write(text)
                count[0] += rows

    with connection.cursor() as cursor:
        _rewrite(cursor, CustomerChurn, load, rows=rows)
    return count[0]


def churn_bands_sql(*, bands: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The stored churn rows as (customer ids ascending, band as an index into ``bands``, -1 for
    a band not among them)."""
    query = f"""
        SELECT array_send(array_agg(customer_id ORDER BY customer_id)),
               array_send(array_agg(COALESCE(array_position(%(bands)s::text[], band::text) - 1, -1)::int2
                                    ORDER BY customer_id))
        FROM {CustomerChurn._meta.db_table}
    """
    ids, band = _fetch_arrays(query, {"bands": bands}, [">i8", ">i2"])
    return ids, band


def clv_probability_alive_sql(*, as_of: datetime.date) -> tuple[np.ndarray, np.ndarray]:
    """(customer ids ascending, probability alive) of the CLV rows for ``as_of``."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT customer_id, probability_alive FROM {CustomerClv._meta.db_table} WHERE as_of = %s "
            f"ORDER BY customer_id", [as_of])
        rows = cursor.fetchall()
    ids = np.array([row[0] for row in rows], dtype=np.int64)
    return ids, np.array([row[1] for row in rows], dtype=float)


def cohorts_write_sql(*, rows: list[tuple]) -> int:
    """Replace the cohort table by ``rows`` (cohort_month, months_since, cohort_size, customers,
    revenue, as_of)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {CohortCell._meta.db_table}")
    return copy_rows(model=CohortCell, rows=rows,
                     columns=["cohort_month", "months_since", "cohort_size", "customers", "revenue", "as_of"])


def kpis_write_sql(*, as_of: datetime.date, rows: list[tuple]) -> int:
    """Replace the daily KPIs up to ``as_of`` by ``rows`` (in ``DailyKpi`` column order)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {DailyKpi._meta.db_table} WHERE date <= %s", [as_of])
    return copy_rows(model=DailyKpi, rows=rows, columns=[
        "date", "revenue", "orders", "average_order_value", "new_customers", "returning_customers", "active_30",
        "active_90", "active_365", "total_customers", "repeat_purchase_rate", "churn_rate", "ad_spend",
        "blended_cac", "blended_roas"])


def copy_rows(*, model, columns: list[str], rows) -> int:
    """Append ``rows`` (tuples in ``columns`` order) to ``model``'s table with COPY (small tables;
    per-customer results go through ``stage_arrays``)."""
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    count = 0
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count

