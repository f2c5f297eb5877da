"""CLV: BG/NBD + Gamma-Gamma per tenant, with a calculation log; no numbers without a fit."""

from __future__ import annotations

import datetime
import time
from decimal import Decimal

import numpy as np
import pandas as pd

from analytics import btyd, conf
from analytics.history import OrderHistory, day_number
from analytics.models import ClvCalculationLog, CustomerClv
from analytics.selectors import order_history_load
from analytics.sql import clv_write_sql, stage_arrays, table_clear, unstage

TIERS = [CustomerClv.Tier.HIGH, CustomerClv.Tier.MEDIUM, CustomerClv.Tier.LOW]


def clv_time_unit(*, span_days: float) -> str:
    """Weeks once the history spans half a year (the scale the models were published on), days
    before that, so a young store's recency is not rounded away."""
    return "weeks" if span_days >= 26 * 7 else "days"


def clv_summary_frame(*, tenant, as_of: datetime.date, history: OrderHistory | None = None) -> tuple[pd.DataFrame, str]:
    """Buy-till-you-die summary per customer, as lifetimes' ``summary_data_from_transaction_data``
    builds it with daily periods: purchases grouped per distinct day; frequency = repeat days;
    recency = first to last purchase day, T = first purchase day to ``as_of``, both in the chosen
    time unit; monetary = mean of the repeat days' totals (0 without repeats); historical = all
    counted spend. One row per customer, by customer id."""
    if history is None:
        history = order_history_load(tenant=tenant, as_of=as_of)
    facts = history.until(day_number(as_of)).facts()
    frequency = facts.purchase_days - 1
    frame = pd.DataFrame({
        "customer_id": facts.customer_id,
        "frequency": frequency,
        "recency_days": (facts.last_day - facts.first_day).astype(float),
        "T_days": (day_number(as_of) - facts.first_day).astype(float),
        # One division of exact cents, as the SQL average of the repeat days' totals was exact.
        "monetary": np.where(frequency > 0, (facts.spend - facts.first_day_spend) / (100.0 * np.maximum(frequency, 1)),
                             0.0),
        "historical": facts.spend / 100.0,
    })
    unit = clv_time_unit(span_days=float(frame["T_days"].max()) if len(frame) else 0.0)
    divisor = 7.0 if unit == "weeks" else 1.0
    frame["recency"] = frame["recency_days"] / divisor
    frame["T"] = frame["T_days"] / divisor
    return frame, unit


def clv_discount_rate(*, tenant) -> float:
    value = (tenant.settings or {}).get("clv_discount_rate")
    return float(conf.get("ANALYTICS_CLV_DISCOUNT_RATE") if value is None else value)


def _cents(values) -> np.ndarray:
    # What writing round(value, 2) into a numeric(15, 2) column stored, as whole cents.
    return np.rint(np.asarray(values, dtype=float) * 100).astype(np.int64)


def clv_compute(*, tenant, as_of: datetime.date, job=None, horizon_months: int | None = None,
                history: OrderHistory | None = None) -> ClvCalculationLog:
    """Fit the models on the tenant's history as of ``as_of`` and replace every current CLV row.
    When the data cannot support a fit, the log says why and no CLV rows remain. ``history`` is
    the run's order history (read here when not given)."""
    started = time.perf_counter()
    horizon = int(horizon_months or conf.get("ANALYTICS_CLV_HORIZON_MONTHS"))
    rate = clv_discount_rate(tenant=tenant)
    frame, unit = clv_summary_frame(tenant=tenant, as_of=as_of, history=history)
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
        job=job, as_of=as_of, status=result.status, message=clv_explanation(result), time_unit=unit,
        diagnostics={"reason": result.reason, "detail": result.message, "attempts": result.attempts},
        horizon_months=horizon, discount_rate=Decimal(str(rate)), model_params=result.model_params,
        spend_params=result.spend_params, log_likelihood=result.log_likelihood,
        spend_log_likelihood=result.spend_log_likelihood, customers_used=result.customers_used,
        repeat_customers=result.repeat_customers, distinct_rows=result.distinct_rows,
        spend_frequency_corr=result.spend_frequency_corr, timings=timings,
    )
    if result.status != ClvCalculationLog.Status.OK:
        table_clear(model=CustomerClv)
        return log

    step = time.perf_counter()
    out = btyd.predict(result, frame, time_unit=unit, horizon_months=horizon, annual_discount_rate=rate)
    total = out["historical"].to_numpy() + out["predicted_value"].to_numpy()
    # Equal CLVs share a percentile (rank "max": the share of customers at or below the value).
    percentile = np.searchsorted(np.sort(total), total, side="right") / len(total) * 100
    tiers = conf.get("ANALYTICS_CLV_TIERS")
    tier = np.where(percentile > tiers["high"], 0, np.where(percentile > tiers["medium"], 1, 2))
    staged = stage_arrays(table="_clv_stage", columns=[
        ("customer_id", "int8", out["customer_id"].to_numpy()), ("frequency", "int4", out["frequency"].to_numpy()),
        ("recency", "float8", out["recency"].to_numpy()), ("t", "float8", out["T"].to_numpy()),
        ("monetary_cents", "int8", _cents(out["monetary"])),
        ("probability_alive", "float8", out["probability_alive"].to_numpy()),
        ("expected_purchases", "float8", out["expected_purchases"].to_numpy()),
        ("predicted_cents", "int8", _cents(out["predicted_value"])),
        ("historical_cents", "int8", _cents(out["historical"])), ("total_cents", "int8", _cents(total)),
        ("tier", "int2", tier), ("percentile", "float8", np.round(percentile, 3)),
    ])
    clv_write_sql(stage="_clv_stage", log_id=log.pk, as_of=as_of, tiers=[str(t) for t in TIERS], rows=staged)
    unstage("_clv_stage")
    timings["predict_and_write"] = round(time.perf_counter() - step, 4)
    timings["total"] = round(time.perf_counter() - started, 4)
    log.timings = timings
    log.save(update_fields=["timings", "updated_at"])
    return log


RETRY_WORDS = {"rescaled time unit": "measuring time in the typical customer's age instead of the oldest one's",
               "small penalizer": "a small penalty that keeps the estimates from running off",
               "another optimizer": "a different search method"}


def clv_explanation(result: btyd.BtydResult) -> str:
    """What the fit did, in words a marketer can act on: never the library's text (that stays in
    the log's diagnostics). A failure says why and what to do about it."""
    minimum_buyers, minimum_repeat = int(conf.get("ANALYTICS_CLV_MIN_CUSTOMERS")), int(
        conf.get("ANALYTICS_CLV_MIN_REPEAT_CUSTOMERS"))
    if result.status == "ok":
        retried = [a["attempt"] for a in result.attempts if a["outcome"] == "ok" and a["attempt"] != "published"]
        how = (f" The standard fit did not settle on this data, so it was fitted with "
               f"{' and '.join(RETRY_WORDS[a] for a in retried)}." if retried else "")
        return (f"Lifetime values predicted from {result.customers_used:,} customers' purchases, "
                f"{result.repeat_customers:,} of whom bought more than once.{how}")
    if result.reason == "insufficient_data":
        return (f"Not enough repeat buyers yet: {result.customers_used:,} customers have bought and "
                f"{result.repeat_customers:,} of them more than once; predicting lifetime value needs at least "
                f"{minimum_buyers} buyers and {minimum_repeat} repeat buyers. What to do: import older orders if "
                "you have them, or check again once more customers have come back.")
    if result.reason == "spend_frequency_correlated":
        return (f"Customers who buy more often also spend more per order here (correlation "
                f"{result.spend_frequency_corr:.2f}), and the spend model assumes they do not, so its values would "
                "be biased. What to do: look for wholesale or business buyers mixed with consumers and keep them "
                "apart; churn risk and RFM do not depend on this and are shown as usual.")
    if result.reason == "zero_spend":
        return ("Some customers who bought more than once paid nothing on average (free or fully discounted "
                "orders), and spend cannot be modelled from zero amounts. What to do: check the order totals "
                "imported for those customers, or mark free orders as cancelled.")
    if result.reason == "all_new":
        return ("Every customer bought for the first time today, so there is no history to learn from yet. What "
                "to do: check again tomorrow, or import older orders.")
    if result.reason == "invalid_data":
        return ("Some customers' purchase dates do not add up, so no model can be fitted. What to do: check the "
                "order dates of the last import; the data quality page lists orders dated in the future.")
    return ("The lifetime-value model could not settle on a stable answer for this data, even after retrying with "
            "a rescaled time unit, a small penalty and a different search method. This usually means very few "
            "customers come back, or many orders share one date (an import that dated everything the same day). "
            "What to do: check that order dates are the real purchase dates and import more history; every "
            "analytics run tries again.")


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
