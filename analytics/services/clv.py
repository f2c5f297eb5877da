"""CLV: BG/NBD + Gamma-Gamma per tenant, with a calculation log; no numbers without a fit."""

from __future__ import annotations

import datetime
import time
from decimal import Decimal

import numpy as np
import pandas as pd

from analytics import btyd, conf
from analytics.models import ClvCalculationLog, CustomerClv
from analytics.sql import clv_summary_sql, copy_rows

def clv_time_unit(*, span_days: float) -> str:
    """Weeks once the history spans half a year (the scale the models were published on), days
    before that, so a young store's recency is not rounded away."""
    return "weeks" if span_days >= 26 * 7 else "days"


def clv_summary_frame(*, tenant, as_of: datetime.date) -> tuple[pd.DataFrame, str]:
    """The per-customer summary in the chosen time unit (see ``analytics.sql.clv_summary_sql``)."""
    rows = clv_summary_sql(as_of=as_of, tz=tenant.setting("timezone"))
    frame = pd.DataFrame(rows, columns=["customer_id", "frequency", "recency_days", "T_days", "monetary", "historical"])
    frame = frame.astype({"frequency": int, "recency_days": float, "T_days": float, "monetary": float,
                          "historical": float})
    unit = clv_time_unit(span_days=float(frame["T_days"].max()) if len(frame) else 0.0)
    divisor = 7.0 if unit == "weeks" else 1.0
    frame["recency"] = frame["recency_days"] / divisor
    frame["T"] = frame["T_days"] / divisor
    return frame, unit


def clv_discount_rate(*, tenant) -> float:
    value = (tenant.settings or {}).get("clv_discount_rate")
    return float(conf.get("ANALYTICS_CLV_DISCOUNT_RATE") if value is None else value)


def clv_compute(*, tenant, as_of: datetime.date, job=None, horizon_months: int | None = None) -> ClvCalculationLog:
    """Fit the models on the tenant's history as of ``as_of`` and replace every current CLV row.
    When the data cannot support a fit, the log says why and no CLV rows remain."""
    started = time.perf_counter()
    horizon = int(horizon_months or conf.get("ANALYTICS_CLV_HORIZON_MONTHS"))
    rate = clv_discount_rate(tenant=tenant)
    frame, unit = clv_summary_frame(tenant=tenant, as_of=as_of)
    timings = {"summary": round(time.perf_counter() - started, 4)}
    result = btyd.fit(
        frame,
        min_customers=int(conf.get("ANALYTICS_CLV_MIN_CUSTOMERS")),
        min_repeat_customers=int(conf.get("ANALYTICS_CLV_MIN_REPEAT_CUSTOMERS")),
        max_corr=float(conf.get("ANALYTICS_CLV_MAX_SPEND_FREQUENCY_CORR")),
        penalizer=float(conf.get("ANALYTICS_CLV_PENALIZER")),
    )
    timings.update(result.timings)
    log = ClvCalculationLog.objects.create(
        job=job, as_of=as_of, status=result.status, message=result.message, time_unit=unit,
        horizon_months=horizon, discount_rate=Decimal(str(rate)), model_params=result.model_params,
        spend_params=result.spend_params, log_likelihood=result.log_likelihood,
        spend_log_likelihood=result.spend_log_likelihood, customers_used=result.customers_used,
        repeat_customers=result.repeat_customers, distinct_rows=result.distinct_rows,
        spend_frequency_corr=result.spend_frequency_corr, timings=timings,
    )
    CustomerClv.objects.all().delete()
    if result.status != ClvCalculationLog.Status.OK:
        return log

    step = time.perf_counter()
    out = btyd.predict(result, frame, time_unit=unit, horizon_months=horizon, annual_discount_rate=rate)
    out["total_clv"] = out["historical"] + out["predicted_value"]
    # Equal CLVs share a percentile (rank "max": the share of customers at or below the value).
    out["percentile"] = out["total_clv"].rank(method="max", pct=True) * 100
    tiers = conf.get("ANALYTICS_CLV_TIERS")
    out["tier"] = np.where(out["percentile"] > tiers["high"], "high",
                           np.where(out["percentile"] > tiers["medium"], "medium", "low"))
    columns = ["customer_id", "log_id", "as_of", "frequency", "recency", "T", "monetary_value", "probability_alive",
               "expected_purchases", "predicted_value", "historical_value", "total_clv", "tier", "percentile"]
    rows = zip(
        out["customer_id"].astype(int).tolist(), [log.pk] * len(out), [as_of] * len(out),
        out["frequency"].astype(int).tolist(), out["recency"].tolist(), out["T"].tolist(),
        out["monetary"].round(2).tolist(), out["probability_alive"].tolist(), out["expected_purchases"].tolist(),
        out["predicted_value"].round(2).tolist(), out["historical"].round(2).tolist(),
        out["total_clv"].round(2).tolist(), out["tier"].tolist(), out["percentile"].round(3).tolist(),
        strict=True,
    )
    copy_rows(model=CustomerClv, columns=columns, rows=rows)
    timings["predict_and_write"] = round(time.perf_counter() - step, 4)
    timings["total"] = round(time.perf_counter() - started, 4)
    log.timings = timings
    log.save(update_fields=["timings", "updated_at"])
    return log


def clv_step_summary(log: ClvCalculationLog) -> dict:
    """The CLV part of a run summary (the shape ``run_analytics`` prints on its last line)."""
    params, spend = log.model_params or {}, log.spend_params or {}
    return {
        "status": log.status,
        "message": log.message,
        "model": {key: params.get(key) for key in ("r", "alpha", "a", "b")},
        "spend_model": {key: spend.get(key) for key in ("p", "q", "v")},
        "time_unit": log.time_unit,
        "log_likelihood": log.log_likelihood,
        "customers_used": log.customers_used,
        "repeat_customers": log.repeat_customers,
        "rows": CustomerClv.objects.filter(log=log).count(),
    }
