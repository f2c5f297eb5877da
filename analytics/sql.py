"""The set-based SQL of the analytics recompute, in one place and tested (tests/analytics).

Every function runs in the current tenant schema, reads customers' orders as of a date (local
dates in the tenant's timezone, counted statuses only, merged customers excluded) and either
returns rows or rewrites one analytics table in a few statements. Nothing here loops per customer.
"""

from __future__ import annotations

import datetime

from django.db import connection

from analytics import conf
from analytics.models import CohortCell, CustomerRfm, DailyKpi, RfmSegmentDefinition, RfmSnapshot
from customers.models import Customer, Order

# Counted orders up to the as-of date with their local purchase date.
_ORDERS_CTE = f"""
o AS (
    SELECT ord.customer_id, (ord.order_date AT TIME ZONE %(tz)s)::date AS d, ord.total_amount AS amount
    FROM {Order._meta.db_table} ord
    JOIN {Customer._meta.db_table} c ON c.id = ord.customer_id AND c.status <> 'merged'
    WHERE ord.status = ANY(%(statuses)s) AND (ord.order_date AT TIME ZONE %(tz)s)::date <= %(as_of)s
)"""


# Sorts and hashes over millions of rows stay in memory for the step's transaction only.
WORK_MEM = "SET LOCAL work_mem = '256MB'"


def _params(as_of: datetime.date, tz: str, **extra) -> dict:
    return {"as_of": as_of, "tz": tz, "statuses": list(conf.get("ANALYTICS_COUNTED_STATUSES")), **extra}


def _quintile(order_by: str) -> str:
    # RANK gives tied values the same (lowest) rank, so equal values always share a score.
    return f"LEAST(5, 1 + FLOOR(5.0 * (RANK() OVER (ORDER BY {order_by}) - 1) / COUNT(*) OVER ()))::int"


def rfm_compute_sql(*, as_of: datetime.date, tz: str, replace_current: bool) -> int:
    """Score every customer with a counted order by ``as_of``: recency (days since the last
    purchase), frequency (orders), monetary (sum); quintile scores 1–5 with ties sharing a score;
    segment = the first active definition (by priority) whose box holds the scores. Writes the
    snapshot for ``as_of`` (replacing it) and, if ``replace_current``, the current rows.
    Returns the number of customers scored."""
    rfm, snap, defs = CustomerRfm._meta.db_table, RfmSnapshot._meta.db_table, RfmSegmentDefinition._meta.db_table
    cols = "customer_id, as_of, recency_days, frequency, monetary, r_score, f_score, m_score, rfm_score, segment"
    with connection.cursor() as cursor:
        cursor.execute(WORK_MEM)
        cursor.execute("DROP TABLE IF EXISTS _rfm_run")
        cursor.execute(
            f"""
            CREATE TEMP TABLE _rfm_run AS
            WITH {_ORDERS_CTE},
            base AS (
                SELECT customer_id, %(as_of)s::date - MAX(d) AS recency_days, COUNT(*) AS frequency,
                       SUM(amount) AS monetary
                FROM o GROUP BY customer_id
            ),
            scored AS (
                SELECT base.*, {_quintile("recency_days DESC")} AS r_score,
                       {_quintile("frequency")} AS f_score, {_quintile("monetary")} AS m_score
                FROM base
            ),
            -- The 125 score cells, each mapped once to the first matching definition.
            cells AS (
                SELECT DISTINCT ON (r, f, m) r, f, m, d.code
                FROM generate_series(1, 5) r, generate_series(1, 5) f, generate_series(1, 5) m, {defs} d
                WHERE d.is_active AND r BETWEEN d.r_min AND d.r_max AND f BETWEEN d.f_min AND d.f_max
                  AND m BETWEEN d.m_min AND d.m_max
                ORDER BY r, f, m, d.priority, d.code
            )
            SELECT s.customer_id, %(as_of)s::date AS as_of, s.recency_days, s.frequency, s.monetary,
                   s.r_score, s.f_score, s.m_score, s.r_score::text || s.f_score::text || s.m_score::text AS rfm_score,
                   COALESCE(cells.code, '') AS segment
            FROM scored s
            LEFT JOIN cells ON cells.r = s.r_score AND cells.f = s.f_score AND cells.m = s.m_score
            """,
            _params(as_of, tz),
        )
        cursor.execute("ANALYZE _rfm_run")
        cursor.execute("SELECT COUNT(*) FROM _rfm_run")
        count = cursor.fetchone()[0]
        cursor.execute(f"DELETE FROM {snap} WHERE as_of = %s", [as_of])
        cursor.execute(f"INSERT INTO {snap} ({cols}) SELECT {cols} FROM _rfm_run")
        if replace_current:
            cursor.execute(f"DELETE FROM {rfm} r WHERE NOT EXISTS "
                           f"(SELECT 1 FROM _rfm_run t WHERE t.customer_id = r.customer_id)")
            updates = ", ".join(f"{col} = EXCLUDED.{col}" for col in cols.split(", ")[1:])
            cursor.execute(
                f"INSERT INTO {rfm} ({cols}) SELECT {cols} FROM _rfm_run "
                f"ON CONFLICT (customer_id) DO UPDATE SET {updates}"
            )
        cursor.execute("DROP TABLE _rfm_run")
    return count


def clv_summary_sql(*, as_of: datetime.date, tz: str) -> list[tuple]:
    """Buy-till-you-die summary per customer, as lifetimes' ``summary_data_from_transaction_data``
    builds it with daily periods: purchases grouped per distinct day; frequency = repeat days;
    first and last purchase day; monetary = mean of the repeat days' totals (0 without repeats);
    plus the historical value (all counted spend). Rows: (customer_id, frequency, recency_days,
    T_days, monetary, historical)."""
    with connection.cursor() as cursor:
        cursor.execute(WORK_MEM)
        cursor.execute(
            f"""
            WITH {_ORDERS_CTE},
            pd AS (SELECT customer_id, d, SUM(amount) AS amount FROM o GROUP BY customer_id, d),
            r AS (SELECT pd.*, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY d) AS rn FROM pd)
            SELECT customer_id, COUNT(*) - 1, MAX(d) - MIN(d), %(as_of)s::date - MIN(d),
                   COALESCE(AVG(amount) FILTER (WHERE rn > 1), 0), SUM(amount)
            FROM r GROUP BY customer_id ORDER BY customer_id
            """,
            _params(as_of, tz),
        )
        return cursor.fetchall()


def churn_features_sql(*, as_of: datetime.date, tz: str, recent_days: int) -> list[tuple]:
    """Features of every customer with a purchase by ``as_of``, as seen on that day. Rows:
    (customer_id, recency_days, tenure_days, orders, purchase_days, spend, avg_order_value,
    orders_recent (last ``recent_days``), mean_gap_days or None)."""
    with connection.cursor() as cursor:
        cursor.execute(WORK_MEM)
        cursor.execute(
            f"""
            WITH {_ORDERS_CTE}
            SELECT customer_id, %(as_of)s::date - MAX(d), %(as_of)s::date - MIN(d), COUNT(*), COUNT(DISTINCT d),
                   SUM(amount), AVG(amount), COUNT(*) FILTER (WHERE d > %(as_of)s::date - %(recent)s),
                   CASE WHEN COUNT(DISTINCT d) > 1
                        THEN (MAX(d) - MIN(d))::float / (COUNT(DISTINCT d) - 1) END
            FROM o GROUP BY customer_id ORDER BY customer_id
            """,
            _params(as_of, tz, recent=recent_days),
        )
        return cursor.fetchall()


def buyers_between_sql(*, start: datetime.date, end: datetime.date, tz: str) -> set[int]:
    """Customers with a counted purchase on a local date in (start, end]."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH {_ORDERS_CTE} SELECT DISTINCT customer_id FROM o WHERE d > %(start)s",
            _params(end, tz, start=start),
        )
        return {row[0] for row in cursor.fetchall()}


def cohorts_compute_sql(*, as_of: datetime.date, tz: str) -> int:
    """Rewrite the cohort table: month of first purchase × whole months since, with the customers
    who bought in that month and their revenue. Returns the number of cells."""
    table = CohortCell._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(WORK_MEM)
        cursor.execute(f"DELETE FROM {table}")
        cursor.execute(
            f"""
            INSERT INTO {table} (cohort_month, months_since, cohort_size, customers, revenue, as_of)
            WITH {_ORDERS_CTE},
            om AS (SELECT customer_id, date_trunc('month', d)::date AS m, amount FROM o),
            firsts AS (SELECT customer_id, MIN(m) AS cohort FROM om GROUP BY customer_id),
            sizes AS (SELECT cohort, COUNT(*) AS n FROM firsts GROUP BY cohort)
            SELECT f.cohort,
                   ((EXTRACT(YEAR FROM om.m) - EXTRACT(YEAR FROM f.cohort)) * 12
                    + EXTRACT(MONTH FROM om.m) - EXTRACT(MONTH FROM f.cohort))::int,
                   s.n, COUNT(DISTINCT om.customer_id), SUM(om.amount), %(as_of)s::date
            FROM om JOIN firsts f USING (customer_id) JOIN sizes s ON s.cohort = f.cohort
            GROUP BY 1, 2, 3
            """,
            _params(as_of, tz),
        )
        return cursor.rowcount


def kpis_backfill_sql(*, as_of: datetime.date, tz: str) -> int:
    """Rewrite daily KPIs from the first counted purchase to ``as_of``. Active-N customers are
    counted with one interval per purchase day (until N days later or the next purchase day,
    whichever is first), so each customer is counted once without a per-day scan of orders.
    churn_rate = 1 − active_90 / customers acquired so far. Returns the number of days written."""
    table = DailyKpi._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(WORK_MEM)
        cursor.execute(f"DELETE FROM {table} WHERE date <= %s", [as_of])
        cursor.execute(
            f"""
            INSERT INTO {table} (date, revenue, orders, average_order_value, new_customers, returning_customers,
                                 active_30, active_90, active_365, total_customers, repeat_purchase_rate, churn_rate)
            WITH {_ORDERS_CTE},
            days AS (
                SELECT generate_series(MIN(d), %(as_of)s::date, interval '1 day')::date AS d FROM o
            ),
            daily AS (SELECT d, SUM(amount) AS revenue, COUNT(*) AS orders FROM o GROUP BY d),
            pd AS (SELECT DISTINCT customer_id, d FROM o),
            pdn AS (
                SELECT customer_id, d, LEAD(d) OVER w AS next_d, ROW_NUMBER() OVER w AS rn
                FROM pd WINDOW w AS (PARTITION BY customer_id ORDER BY d)
            ),
            per_day AS (
                SELECT d, COUNT(*) FILTER (WHERE rn = 1) AS firsts, COUNT(*) FILTER (WHERE rn = 2) AS seconds,
                       COUNT(*) FILTER (WHERE rn > 1) AS returners
                FROM pdn GROUP BY d
            ),
            ev AS (
                SELECT ws.w, pdn.d AS day, 1 AS delta FROM pdn CROSS JOIN (VALUES (30), (90), (365)) ws(w)
                UNION ALL
                SELECT ws.w, LEAST(pdn.d + ws.w, pdn.next_d), -1 FROM pdn CROSS JOIN (VALUES (30), (90), (365)) ws(w)
            ),
            ev_day AS (
                SELECT day, SUM(delta) FILTER (WHERE w = 30) AS a30, SUM(delta) FILTER (WHERE w = 90) AS a90,
                       SUM(delta) FILTER (WHERE w = 365) AS a365
                FROM ev GROUP BY day
            ),
            series AS (
                SELECT days.d, COALESCE(daily.revenue, 0) AS revenue, COALESCE(daily.orders, 0) AS orders,
                       COALESCE(per_day.firsts, 0) AS new_customers, COALESCE(per_day.returners, 0) AS returners,
                       SUM(COALESCE(ev_day.a30, 0)) OVER w AS active_30,
                       SUM(COALESCE(ev_day.a90, 0)) OVER w AS active_90,
                       SUM(COALESCE(ev_day.a365, 0)) OVER w AS active_365,
                       SUM(COALESCE(per_day.firsts, 0)) OVER w AS total_customers,
                       SUM(COALESCE(per_day.seconds, 0)) OVER w AS repeaters
                FROM days
                LEFT JOIN daily ON daily.d = days.d
                LEFT JOIN per_day ON per_day.d = days.d
                LEFT JOIN ev_day ON ev_day.day = days.d
                WINDOW w AS (ORDER BY days.d)
            )
            SELECT d, revenue, orders, CASE WHEN orders > 0 THEN ROUND(revenue / orders, 2) ELSE 0 END,
                   new_customers, returners, active_30, active_90, active_365, total_customers,
                   CASE WHEN total_customers > 0 THEN repeaters::float / total_customers ELSE 0 END,
                   CASE WHEN total_customers > 0 THEN 1 - active_90::float / total_customers ELSE 0 END
            FROM series
            """,
            _params(as_of, tz),
        )
        return cursor.rowcount


def copy_rows(*, model, columns: list[str], rows) -> int:
    """Append ``rows`` (tuples in ``columns`` order) to ``model``'s table with COPY: the fast
    write path for per-customer results (one row per customer, up to millions)."""
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    count = 0
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count
