"""How analytics' figures are defined, where the steps that compute them (services) and the reads
that total or explain them (selectors) both need the definition: pure functions of settings and
numbers, no queries. (Selectors import this, never the services, so services may read through
selectors without an import cycle.)"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from analytics import conf

CENT = Decimal("0.01")
#: How much a failed check weighs in the data-health score, by its severity.
SEVERITY_WEIGHT = {"error": 3, "warning": 2, "info": 1}


def money(value) -> Decimal:
    """``value`` in whole cents, half up (as the money columns store it)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def blended(spend: Decimal, new_customers: int, revenue: Decimal) -> tuple[Decimal | None, float | None]:
    """(CAC, ROAS) of a period from all its spend, new customers and revenue."""
    cac = money(spend / new_customers) if spend and new_customers else None
    roas = round(float(revenue / spend), 4) if spend else None
    return cac, roas


def churn_band_thresholds() -> dict:
    """The bands as a marketer reads them: churned = no purchase for the churn window (a fact,
    the KPI's definition), else by the risk of not buying in the next window."""
    bands = conf.get("ANALYTICS_CHURN_BANDS")
    return {"window_days": int(conf.get("ANALYTICS_CHURN_WINDOW_DAYS")), "at_risk": float(bands["at_risk"]),
            "churning": float(bands["churning"])}


def data_health_score(checks) -> float:
    """0–100: the pass rates of the checks, weighted by severity (errors count three times)."""
    total = sum(SEVERITY_WEIGHT[c.severity] for c in checks)
    if not total:
        return 100.0
    return round(100 * sum(SEVERITY_WEIGHT[c.severity] * c.pass_rate for c in checks) / total, 1)
