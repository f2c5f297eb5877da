"""Cohorts and daily KPIs, computed from the run's order history (``analytics.history``)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from analytics.figures import blended
from analytics.history import OrderHistory, day_date, day_number
from analytics.selectors import order_history_load
from analytics.services.ads import ad_performance_compute
from analytics.sql import cohorts_write_sql, kpis_write_sql


def _money(cents) -> Decimal:
    return Decimal(int(cents)) / 100


def cohorts_compute(*, tenant, as_of: datetime.date, job=None, history: OrderHistory | None = None) -> dict:
    """Rewrite the cohort table: month of first purchase × whole months since, with the customers
    who bought in that month and their revenue, as of ``as_of``."""
    if history is None:
        history = order_history_load(tenant=tenant, as_of=as_of)
    cells = history.until(day_number(as_of)).cohorts()
    rows = [
        (datetime.date(int(cohort) // 12, int(cohort) % 12 + 1, 1), int(since), int(size), int(customers),
         _money(revenue), as_of)
        for cohort, since, size, customers, revenue in zip(
            cells["cohort"], cells["months_since"], cells["cohort_size"], cells["customers"], cells["revenue"],
            strict=True)
    ]
    return {"rows": cohorts_write_sql(rows=rows)}


def kpis_compute(*, tenant, as_of: datetime.date, job=None, history: OrderHistory | None = None) -> dict:
    """Backfill daily KPIs from the first purchase to ``as_of``. Active-N customers are counted
    with one interval per purchase day (until N days later or the next purchase day, whichever is
    first), so each customer is counted once. churn_rate = 1 − active_90 / customers acquired so
    far. With ad spend synced: the day's spend, blended CAC (spend ÷ new customers) and ROAS
    (revenue ÷ spend), and the attributed figures per campaign (``analytics.services.ads``)."""
    if history is None:
        history = order_history_load(tenant=tenant, as_of=as_of)
    kpis = history.until(day_number(as_of)).daily_kpis(end=day_number(as_of))
    ads = ad_performance_compute(tenant=tenant, as_of=as_of,
                                 since=day_date(kpis["day"][0]) if len(kpis["day"]) else None)
    rows = []
    for i in range(len(kpis["day"])):
        spend = ads["daily_spend"].get(int(kpis["day"][i]), Decimal(0))
        revenue = _money(kpis["revenue"][i])
        cac, roas = blended(spend, int(kpis["new_customers"][i]), revenue)
        rows.append(
            (day_date(kpis["day"][i]), revenue, int(kpis["orders"][i]),
             _money(kpis["average_order_value"][i]), int(kpis["new_customers"][i]),
             int(kpis["returning_customers"][i]), int(kpis["active_30"][i]), int(kpis["active_90"][i]),
             int(kpis["active_365"][i]), int(kpis["total_customers"][i]), float(kpis["repeat_purchase_rate"][i]),
             float(kpis["churn_rate"][i]), spend.quantize(Decimal("0.01")), cac, roas))
    return {"rows": kpis_write_sql(as_of=as_of, rows=rows), "ad_rows": ads["rows"],
            "attributed_orders": ads["attributed_orders"], "spend_rows_other_currency": ads["spend_rows_other_currency"]}
