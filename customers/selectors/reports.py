"""Reports from seed 003 (issue #21 item 11): where the customers are and what they spend
(geographic distribution), what changes in their profiles (change analysis) and how fresh the
data is (data-update rate, completeness). Aggregates only: no row names a person.

Merged customers are left out (their survivor counts); every figure is one grouped query."""

from __future__ import annotations

import datetime
import zoneinfo

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from customers.models import Customer, CustomerChangeLog

GEOGRAPHY_LEVELS = {"country": ("country",), "state": ("country", "state"), "city": ("country", "state", "city")}
MAX_ROWS = 200
MAX_DAYS = 366
#: Profile fields whose completeness the update-rate report shows.
COMPLETENESS_FIELDS = ("email", "phone", "first_name", "last_name", "city", "country", "birth_date")


def _customers():
    return Customer.objects.exclude(status=Customer.Status.MERGED)


def geography_report(*, level: str = "country", country: str = "", limit: int = 50) -> dict:
    """Customers and revenue (their counted sales, ``total_spent``) per country, state or city,
    most customers first; ``country`` narrows to one country; places without a value are
    grouped as "" (unknown)."""
    columns = GEOGRAPHY_LEVELS[level]
    customers = _customers()
    if country:
        customers = customers.filter(country=country.upper())
    rows = (customers.values(*columns).annotate(customers=Count("id"), revenue=Sum("total_spent"),
                                                buyers=Count("id", filter=Q(total_orders__gt=0)))
            .order_by("-customers", *columns)[:max(1, min(limit, MAX_ROWS))])
    totals = customers.aggregate(customers=Count("id"), revenue=Sum("total_spent"))
    return {"level": level, "country": country.upper(), "total_customers": totals["customers"],
            "total_revenue": totals["revenue"] or 0,
            "rows": [{**{name: row[name] for name in columns}, "customers": row["customers"],
                      "buyers": row["buyers"], "revenue": row["revenue"] or 0} for row in rows]}


def _since(days: int, tz_name: str) -> tuple[datetime.datetime, zoneinfo.ZoneInfo]:
    try:
        tz = zoneinfo.ZoneInfo(tz_name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo("UTC")
    today = timezone.now().astimezone(tz).date()
    start = datetime.datetime.combine(today - datetime.timedelta(days=days - 1), datetime.time(), tzinfo=tz)
    return start, tz


def changes_report(*, days: int = 30, tz_name: str = "UTC", limit: int = 20) -> dict:
    """Profile changes in the last ``days`` days (the tenant's calendar): the most changed fields,
    the changes per origin (source: a feed, ``manual`` for people, or none for system writes), and
    per day. Order re-ingests (``order.*`` rows) are left out: they are not profile data."""
    start, tz = _since(days, tz_name)
    logs = CustomerChangeLog.objects.filter(created_at__gte=start).exclude(field__startswith="order.")
    fields = logs.values("field").annotate(changes=Count("id"), customers=Count("customer_id", distinct=True))
    sources = logs.values("source").annotate(changes=Count("id"))
    per_day = dict(logs.annotate(day=TruncDate("created_at", tzinfo=tz)).values("day")
                   .annotate(changes=Count("id")).values_list("day", "changes"))
    first = start.date()
    return {
        "days": days, "since": first,
        "total": sum(per_day.values()),
        "fields": list(fields.order_by("-changes", "field")[:limit]),
        "sources": list(sources.order_by("-changes", "source")[:limit]),
        "per_day": [{"date": first + datetime.timedelta(days=n), "changes": per_day.get(first + datetime.timedelta(days=n), 0)}
                    for n in range(days)],
    }


def update_rate_report(*, days: int = 30, tz_name: str = "UTC") -> dict:
    """How fresh the profiles are: of the customers, how many had a profile change in the last
    ``days`` days (the rate) and how many were added, per day the customers updated, and the
    share of profiles holding each of ``COMPLETENESS_FIELDS``."""
    start, tz = _since(days, tz_name)
    customers = _customers()
    counts = customers.aggregate(
        total=Count("id"), added=Count("id", filter=Q(created_at__gte=start)),
        **{f"has_{name}": Count("id", filter=~Q(**{f"{name}__isnull": True}) & ~Q(**{name: ""}))
           if name != "birth_date" else Count("id", filter=Q(birth_date__isnull=False))
           for name in COMPLETENESS_FIELDS})
    logs = CustomerChangeLog.objects.filter(created_at__gte=start).exclude(field__startswith="order.")
    updated = logs.values("customer_id").distinct().count()
    per_day = dict(logs.annotate(day=TruncDate("created_at", tzinfo=tz)).values("day")
                   .annotate(customers=Count("customer_id", distinct=True)).values_list("day", "customers"))
    total = counts["total"]
    first = start.date()
    return {
        "days": days, "since": first, "customers": total, "added": counts["added"], "updated": updated,
        "update_rate": round(updated / total, 4) if total else 0.0,
        "completeness": [{"field": name, "filled": counts[f"has_{name}"],
                          "share": round(counts[f"has_{name}"] / total, 4) if total else 0.0}
                         for name in COMPLETENESS_FIELDS],
        "per_day": [{"date": first + datetime.timedelta(days=n),
                     "customers": per_day.get(first + datetime.timedelta(days=n), 0)} for n in range(days)],
    }
