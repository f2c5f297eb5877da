"""Reads of the analytics read models (the API, portal and Customer 360 use these)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import django_filters
from django.db.models import Count, Max, OuterRef, Subquery, Sum
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from analytics.figures import blended, churn_band_thresholds, data_health_score
from analytics.history import OrderHistory, day_number
from analytics.models import (
    AdPerformanceDaily,
    ChurnPredictionLog,
    ClvCalculationLog,
    CohortCell,
    CustomerChurn,
    CustomerClv,
    CustomerRfm,
    DailyKpi,
    DataQualityCheck,
    ProcessingJob,
    RfmSegmentDefinition,
    Segment,
)
from analytics.rules import rules_to_q
from analytics.sql import counted_orders_sql
from customers.models import Customer


def order_history_load(*, tenant, as_of: datetime.date) -> OrderHistory:
    """Counted purchases of customers not merged away, per customer and local day (the tenant's
    timezone), up to and including ``as_of``: what a run computes from (read once per run)."""
    customer_id, day, cents = counted_orders_sql(tz=tenant.setting("timezone"))
    return OrderHistory.from_orders(customer_id, day, cents, until=day_number(as_of))


def customer_scores(*, customer_id: int) -> dict | None:
    """The analytics section of the Customer 360: RFM scores and segment, CLV (probability alive,
    expected purchases, value, tier) and churn (probability, band, factors); None if not scored."""
    # One query (the Customer 360 runs this on every read): the three one-to-one score rows and
    # the RFM segment's display name.
    customer = (Customer.objects.filter(pk=customer_id)
                .select_related("analytics_rfm", "analytics_clv", "analytics_churn")
                .annotate(rfm_segment_name=Subquery(RfmSegmentDefinition.objects.filter(
                    code=OuterRef("analytics_rfm__segment")).values("name")[:1]))
                .only("pk", "analytics_rfm", "analytics_clv", "analytics_churn").first())
    if customer is None:
        return None
    rfm, clv, churn = (getattr(customer, name, None) for name in ("analytics_rfm", "analytics_clv", "analytics_churn"))
    if not (rfm or clv or churn):
        return None
    return {
        "rfm": rfm and {
            "as_of": rfm.as_of.isoformat(), "recency_days": rfm.recency_days, "frequency": rfm.frequency,
            "monetary": str(rfm.monetary), "r_score": rfm.r_score, "f_score": rfm.f_score, "m_score": rfm.m_score,
            "rfm_score": rfm.rfm_score, "segment": rfm.segment, "segment_name": customer.rfm_segment_name or rfm.segment,
        },
        "clv": clv and {
            "as_of": clv.as_of.isoformat(), "probability_alive": round(clv.probability_alive, 4),
            "expected_purchases": round(clv.expected_purchases, 3), "predicted_value": str(clv.predicted_value),
            "historical_value": str(clv.historical_value), "total_clv": str(clv.total_clv), "tier": clv.tier,
            "percentile": clv.percentile,
        },
        "churn": churn and {
            "as_of": churn.as_of.isoformat(), "probability": round(churn.probability, 4), "band": churn.band,
            "band_label": churn.get_band_display(),
            "method": churn.method, "predicted_churn_date": churn.predicted_churn_date and
            churn.predicted_churn_date.isoformat(), "factors": churn.factors,
        },
    }


def segment_filter():
    # Chosen by name; the value stays the segment's id (``?segment=12``, as the API documents).
    return django_filters.ModelChoiceFilter(field_name="analytics_segment_memberships__segment",
                                            queryset=Segment.objects.order_by("name"), label=_("Segment"))


def _rfm_segment_choices():
    return [(d.code, gettext(d.name)) for d in RfmSegmentDefinition.objects.order_by("priority", "code")]


def rfm_segment_filter():
    # The tenant's segment definitions by name (a code that is not one is a field error).
    return django_filters.ChoiceFilter(field_name="analytics_rfm__segment", choices=_rfm_segment_choices,
                                       label=_("RFM segment"))


def churn_band_filter():
    return django_filters.ChoiceFilter(field_name="analytics_churn__band", choices=CustomerChurn.Band.choices,
                                       label=_("Churn band"))


def clv_tier_filter():
    return django_filters.ChoiceFilter(field_name="analytics_clv__tier", choices=CustomerClv.Tier.choices,
                                       label=_("CLV tier"))


def customers_exist() -> bool:
    return Customer.objects.exists()


def job_progress(*, job: ProcessingJob) -> dict:
    """How far a run is, for its page and its live progress: each requested step with its rows
    and seconds once done (a run records each step as it finishes), the share of steps done, and
    whether it is still working."""
    steps = [{"name": step, "done": step in job.step_timings, "rows": job.row_counts.get(step),
              "seconds": job.step_timings.get(step)} for step in job.steps]
    done = sum(step["done"] for step in steps)
    return {"id": job.pk, "status": job.status, "status_label": str(job.get_status_display()),
            "active": job.status in ProcessingJob.ACTIVE, "done": done, "total": len(steps),
            "percent": round(100 * done / len(steps)) if steps else (0 if job.status in ProcessingJob.ACTIVE else 100),
            "steps": steps, "duration_seconds": job.duration_seconds}


def job_list():
    return ProcessingJob.objects.order_by("-created_at", "-id")


def rfm_segment_summary() -> list[dict]:
    """One row per segment of the current RFM rows: segment code and name, customers, revenue
    (monetary), share of customers; in definition priority order."""
    totals = {row["segment"]: row for row in CustomerRfm.objects.values("segment").order_by("segment")
              .annotate(customers=Count("id"), revenue=Sum("monetary"))}
    all_customers = sum(row["customers"] for row in totals.values()) or 1
    out = []
    for definition in RfmSegmentDefinition.objects.order_by("priority", "code"):
        row = totals.pop(definition.code, {"customers": 0, "revenue": 0})
        out.append({"segment": definition.code, "name": gettext(definition.name), "color": definition.color,
                    "customers": row["customers"], "revenue": row["revenue"] or 0,
                    "share": round(row["customers"] / all_customers, 4)})
    for code, row in sorted(totals.items()):  # rows whose definition was deleted or unmatched
        out.append({"segment": code, "name": code or "(none)", "color": "#94a3b8", "customers": row["customers"],
                    "revenue": row["revenue"] or 0, "share": round(row["customers"] / all_customers, 4)})
    return out


def clv_latest_log() -> ClvCalculationLog | None:
    return ClvCalculationLog.objects.order_by("-created_at", "-id").first()


def clv_summary() -> dict:
    """The latest CLV fit and the distribution of current values by tier and in 10 buckets."""
    log = clv_latest_log()
    rows = CustomerClv.objects.all()
    by_tier = {row["tier"]: {"customers": row["n"], "total_clv": row["total"]}
               for row in rows.values("tier").order_by("tier").annotate(n=Count("id"), total=Sum("total_clv"))}
    values = sorted(float(v) for v in rows.values_list("total_clv", flat=True))
    histogram = []
    if values:
        low, high = values[0], values[-1]
        width = (high - low) / 10 or 1.0
        counts = [0] * 10
        for value in values:
            counts[min(9, int((value - low) / width))] += 1
        histogram = [{"from": round(low + i * width, 2), "to": round(low + (i + 1) * width, 2), "customers": c}
                     for i, c in enumerate(counts)]
    return {
        "status": log.status if log else None,
        "message": log.message if log else gettext("No CLV run yet."),
        "as_of": log.as_of.isoformat() if log else None,
        "time_unit": log.time_unit if log else None,
        "model": log.model_params if log else {},
        "spend_model": log.spend_params if log else {},
        "log_likelihood": log.log_likelihood if log else None,
        "customers_used": log.customers_used if log else 0,
        "customers": len(values),
        "by_tier": by_tier,
        "histogram": histogram,
    }


def churn_latest_log() -> ChurnPredictionLog | None:
    return ChurnPredictionLog.objects.order_by("-created_at", "-id").first()


def churn_summary() -> dict:
    log = churn_latest_log()
    bands = dict(CustomerChurn.objects.values("band").order_by("band").annotate(n=Count("id"))
                 .values_list("band", "n"))
    return {
        "method": log.method if log else None,
        "message": log.message if log else gettext("No churn run yet."),
        "as_of": log.as_of.isoformat() if log else None,
        "auc": log.auc if log else None,
        "brier": log.brier if log else None,
        "calibration": log.calibration if log else [],
        "train_customers": log.train_customers if log else 0,
        "test_customers": log.test_customers if log else 0,
        "bands": {band: bands.get(band, 0) for band in CustomerChurn.Band.values},
        "thresholds": churn_band_thresholds(),
    }


def ad_performance_list(*, start: datetime.date | None = None, end: datetime.date | None = None,
                        channel: str | None = None):
    """Daily rows per channel and campaign (spend, attributed orders, revenue, new customers, CAC,
    ROAS), oldest first."""
    queryset = AdPerformanceDaily.objects.order_by("date", "channel", "campaign_id")
    if start:
        queryset = queryset.filter(date__gte=start)
    if end:
        queryset = queryset.filter(date__lte=end)
    if channel:
        queryset = queryset.filter(channel=channel)
    return queryset


def ad_performance_summary(*, start: datetime.date | None = None, end: datetime.date | None = None,
                           days: int = 30) -> dict:
    """CAC and ROAS over a period (default: the last ``days`` days of the latest KPIs): per
    campaign and per channel from the UTM-attributed orders, and blended from all spend, all new
    customers and all counted revenue."""
    end = end or DailyKpi.objects.order_by("-date").values_list("date", flat=True).first()
    if end is None:
        return {"start": None, "end": None, "campaigns": [], "channels": [], "blended": None}
    start = start or end - datetime.timedelta(days=days - 1)

    def figures(row: dict) -> dict:
        spend, revenue, new = row["spend"] or 0, row["revenue"] or 0, row["new_customers"] or 0
        cac, roas = blended(spend, new, revenue)
        return {**row, "cac": cac, "roas": roas}

    rows = ad_performance_list(start=start, end=end).values("channel", "campaign_id")
    totals = {"spend": Sum("spend"), "orders": Sum("orders"), "revenue": Sum("revenue"),
              "new_customers": Sum("new_customers")}
    campaigns = [figures(row) for row in rows.annotate(campaign_name=Max("campaign_name"), **totals)
                 .order_by("channel", "-spend", "campaign_id")]
    channels = [figures(row) for row in ad_performance_list(start=start, end=end).values("channel")
                .annotate(**totals).order_by("channel")]
    kpis = DailyKpi.objects.filter(date__gte=start, date__lte=end).aggregate(
        spend=Sum("ad_spend"), new_customers=Sum("new_customers"), revenue=Sum("revenue"))
    return {"start": start, "end": end, "campaigns": campaigns, "channels": channels,
            "blended": figures(kpis) if kpis["spend"] else None}


def cohort_matrix() -> list[dict]:
    """Cohorts in order, each with its cells by months since acquisition."""
    cohorts: dict[datetime.date, dict] = {}
    for cell in CohortCell.objects.order_by("cohort_month", "months_since"):
        cohort = cohorts.setdefault(cell.cohort_month, {"cohort": cell.cohort_month.isoformat(),
                                                        "size": cell.cohort_size, "cells": []})
        cohort["cells"].append({"months_since": cell.months_since, "customers": cell.customers,
                                "revenue": cell.revenue, "retention": round(cell.retention, 4)})
    return list(cohorts.values())


def kpi_list(*, start: datetime.date | None = None, end: datetime.date | None = None):
    queryset = DailyKpi.objects.order_by("date")
    if start:
        queryset = queryset.filter(date__gte=start)
    if end:
        queryset = queryset.filter(date__lte=end)
    return queryset


def data_quality_latest() -> dict:
    """The latest day's checks and the data-health score."""
    latest = DataQualityCheck.objects.order_by("-as_of").values_list("as_of", flat=True).first()
    checks = list(DataQualityCheck.objects.filter(as_of=latest).order_by("code")) if latest else []
    return {"as_of": latest, "health_score": data_health_score(checks) if checks else None, "checks": checks}


def segment_queryset(*, rules):
    """Customers matching ``rules`` (validated; raises ``invalid_rules``), merged ones excluded: what
    a segment materializes, and what the builder's live count counts."""
    return Customer.objects.filter(rules_to_q(rules)).exclude(status=Customer.Status.MERGED)


def segment_rules_count(*, rules) -> int:
    """How many customers ``rules`` select now (the builder's live count; raises ``invalid_rules``)."""
    return segment_queryset(rules=rules).order_by().values("id").distinct().count()


def segment_members(*, segment: Segment):
    return (Customer.objects.filter(analytics_segment_memberships__segment=segment)
            .select_related("analytics_rfm", "analytics_clv", "analytics_churn").order_by("id"))



def period_totals(kpis) -> tuple:
    """(revenue, orders, average order value) of some days of KPIs: the one definition of the
    period figures that the analytics page and the overview both show."""
    revenue = sum((k.revenue for k in kpis), Decimal(0))
    orders = sum(k.orders for k in kpis)
    return revenue, orders, (revenue / orders) if orders else Decimal(0)


def _change(current, previous) -> float | None:
    """The relative change against the previous period; None when there is nothing to compare."""
    if previous is None or not previous:
        return None
    return round(float((Decimal(current) - Decimal(previous)) / Decimal(previous)), 4)


def overview_figures(*, period_days: int = 30) -> dict:
    """The overview's headline figures, each with the previous period's value and the change:
    revenue, orders and average order value over the last ``period_days`` days of KPIs (the same
    totals the analytics page shows, ``period_totals``) against the ``period_days`` before, and the
    customers active in the 90 days up to the latest KPI day against ``period_days`` earlier; with
    RFM segments, churn bands and the CLV total of the latest run. ``as_of`` is None (and the
    figures zero) before the first analytics run."""
    kpis = list(kpi_list().order_by("-date")[:2 * period_days])[::-1]
    latest = kpis[-1] if kpis else None
    current, previous = kpis[-period_days:], kpis[:-period_days]
    revenue, orders, average = period_totals(current)
    has_previous = bool(previous) and previous[0].date <= latest.date - datetime.timedelta(days=2 * period_days - 1)
    before = period_totals(previous) if has_previous else (None, None, None)
    earlier = next((k for k in kpis if k.date == latest.date - datetime.timedelta(days=period_days)), None) \
        if latest else None
    active = latest.active_90 if latest else 0
    active_before = earlier.active_90 if earlier else None
    start = latest.date - datetime.timedelta(days=period_days - 1) if latest else None
    tiers = {row["tier"]: row for row in CustomerClv.objects.values("tier").order_by("tier")
             .annotate(customers=Count("id"), total=Sum("total_clv"))}
    churn = churn_summary()
    figures = [("revenue", revenue, before[0]), ("orders", orders, before[1]),
               ("average_order_value", average, before[2]), ("active_customers", active, active_before)]
    return {
        "as_of": latest.date if latest else None, "period_days": period_days, "start": start,
        "active_since": latest.date - datetime.timedelta(days=89) if latest else None,
        "figures": {name: {"value": value, "previous": prior, "change": _change(value, prior)}
                    for name, value, prior in figures},
        "segments": rfm_segment_summary(),
        "churn_bands": [{"band": band, "customers": n, "color": CHURN_BAND_COLORS[band]}
                        for band, n in churn["bands"].items()],
        "clv_total": sum((row["total"] or Decimal(0) for row in tiers.values()), Decimal(0)),
        "clv_customers": sum(row["customers"] for row in tiers.values()),
        "clv_tiers": [(tier, tiers.get(tier, {}).get("customers", 0)) for tier in CLV_TIERS],
        "quality": data_quality_latest(),
    }


#: The colour of each churn band wherever it is drawn (the dashboard's chart).
CHURN_BAND_COLORS = {CustomerChurn.Band.ACTIVE: "#16a34a", CustomerChurn.Band.AT_RISK: "#ca8a04",
                     CustomerChurn.Band.CHURNING: "#ea580c", CustomerChurn.Band.CHURNED: "#6b7280"}
CLV_TIERS = (CustomerClv.Tier.HIGH, CustomerClv.Tier.MEDIUM, CustomerClv.Tier.LOW)


def dashboard_figures(*, tenant, kpi_days: int = 90, period_days: int = 30, cohort_months: int = 12) -> dict:
    """Everything the analytics dashboard shows, as figures (the page only draws them): the daily
    KPIs of the last ``kpi_days`` (oldest first) and the latest day; revenue, orders and average
    order value over the last ``period_days`` of them; RFM segments; the CLV summary and customers
    per tier; the churn summary and customers per band with the band's colour; CAC and ROAS up to
    the latest KPI day; the last ``cohort_months`` cohorts, each with one cell (or None) per month
    since acquisition; data quality; the latest runs; which analyses the plan includes."""
    kpis = list(kpi_list().order_by("-date")[:kpi_days])[::-1]
    latest = kpis[-1] if kpis else None
    revenue, orders, average = period_totals(kpis[-period_days:])
    clv, churn = clv_summary(), churn_summary()
    cohorts = cohort_matrix()[-cohort_months:]
    months = range(max((cell["months_since"] for c in cohorts for cell in c["cells"]), default=0) + 1)
    for cohort in cohorts:
        by_month = {cell["months_since"]: cell for cell in cohort["cells"]}
        cohort["row"] = [(month, by_month.get(month)) for month in months]
    return {
        "kpis": kpis, "latest": latest, "period_days": period_days,
        "revenue": revenue, "orders": orders, "average_order_value": average,
        "segments": rfm_segment_summary(),
        "clv": clv,
        "clv_tiers": [(tier, clv["by_tier"].get(tier, {}).get("customers", 0)) for tier in CLV_TIERS],
        "churn": churn,
        "churn_bands": [{"band": band, "customers": n, "color": CHURN_BAND_COLORS[band]}
                        for band, n in churn["bands"].items()],
        "ads": ad_performance_summary(end=latest.date if latest else None, days=period_days),
        "cohorts": cohorts, "months": months,
        "quality": data_quality_latest(),
        "jobs": job_list()[:5],
        "features": {key: tenant.feature_enabled(key) for key in ("rfm_analysis", "clv_prediction", "churn_detection")},
    }
