"""Analytics settings with their defaults (``cdp.conf``: a Django setting of the same name wins,
and ``ANALYTICS_*`` environment variables become settings)."""

from __future__ import annotations

from cdp.conf import AppSettings

conf = AppSettings({
    # Risk floors of the bands of customers who bought within the churn window: at risk from an
    # even chance of not buying in the next window, churning from three in four. Customers whose
    # last purchase is a window or more ago are "churned" whatever their risk (the KPIs' count).
    "ANALYTICS_CHURN_BANDS": {"at_risk": 0.5, "churning": 0.75},
    # A customer has churned when they do not buy within this many days.
    "ANALYTICS_CHURN_WINDOW_DAYS": 90,
    # Below these, churn falls back to 1 − P(alive) instead of training a model.
    "ANALYTICS_CHURN_MIN_TRAIN_CUSTOMERS": 200,
    "ANALYTICS_CHURN_MIN_CLASS_SIZE": 20,
    # CLV: below these the fit is refused (status insufficient_data), above the correlation too.
    "ANALYTICS_CLV_MIN_CUSTOMERS": 50,
    "ANALYTICS_CLV_MIN_REPEAT_CUSTOMERS": 20,
    "ANALYTICS_CLV_MAX_SPEND_FREQUENCY_CORR": 0.5,
    "ANALYTICS_CLV_HORIZON_MONTHS": 12,
    "ANALYTICS_CLV_DISCOUNT_RATE": 0.10,  # annual; a tenant's settings["clv_discount_rate"] wins
    "ANALYTICS_CLV_PENALIZER": 0.0,
    # CLV tiers by percentile of total CLV: high from this percentile up, medium from the next.
    "ANALYTICS_CLV_TIERS": {"high": 80.0, "medium": 50.0},
    # A running job older than this is considered dead (worker lost) and may be replaced.
    "ANALYTICS_JOB_STALE_AFTER_MINUTES": 180,
    # Offending records listed per data-quality check.
    "ANALYTICS_DQ_SAMPLE_SIZE": 50,
    # Exports of personal data above this many rows need a second person's approval (seed 003);
    # a tenant's settings["export_approval_rows"] wins.
    "ANALYTICS_EXPORT_APPROVAL_ROWS": 1000,
    # An approved export can be downloaded for this many hours, then it expires.
    "ANALYTICS_EXPORT_DOWNLOAD_HOURS": 24,
})
get = conf.get
