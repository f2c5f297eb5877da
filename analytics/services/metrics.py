"""Cohorts and daily KPIs (the SQL lives in ``analytics.sql``)."""

from __future__ import annotations

import datetime

from analytics.sql import cohorts_compute_sql, kpis_backfill_sql


def cohorts_compute(*, tenant, as_of: datetime.date, job=None) -> dict:
    """Rewrite the monthly acquisition cohorts as of ``as_of``."""
    return {"rows": cohorts_compute_sql(as_of=as_of, tz=tenant.setting("timezone"))}


def kpis_compute(*, tenant, as_of: datetime.date, job=None) -> dict:
    """Backfill daily KPIs from the first purchase to ``as_of``."""
    return {"rows": kpis_backfill_sql(as_of=as_of, tz=tenant.setting("timezone"))}
