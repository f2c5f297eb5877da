"""Ad spend becomes numbers: the spend the ad platforms report (read through
``analytics.registry.spend_rows``, which integrations provides) joined to counted sales.

- **Attributed** (per day, channel and campaign): an order belongs to the campaign its UTM tags
  name. ``utm_source`` says the channel (google, adwords… → google_ads; facebook, instagram, meta…
  → facebook_ads); ``utm_campaign`` is matched to the campaign's id or name, compared in lower
  case without punctuation ("search-yerba" is "Search - Yerba"). CAC = spend ÷ customers whose
  first counted order carries the campaign; ROAS = counted revenue of its orders ÷ spend.
- **Blended** (per day, in the KPIs): all spend against all new customers and all counted revenue,
  for the orders no UTM tag explains (marketplace, till, direct).

Spend in another currency than the tenant's is left out (and counted) rather than mixed in.
"""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from decimal import Decimal

from analytics.figures import money
from analytics.history import day_number
from analytics.registry import spend_rows
from analytics.sql import ad_performance_write_sql, attributed_orders_sql

#: UTM sources (lowercase) of each ad channel.
CHANNEL_SOURCES = {
    "google_ads": ("google", "googleads", "google_ads", "google-ads", "adwords", "gads", "youtube"),
    "facebook_ads": ("facebook", "fb", "facebook_ads", "instagram", "ig", "meta", "facebook.com"),
}
_CHANNEL_OF = {source: channel for channel, sources in CHANNEL_SOURCES.items() for source in sources}


def campaign_key(value: str) -> str:
    """How campaign ids and names are compared: lower case, letters and digits only."""
    return re.sub(r"[^0-9a-z]", "", (value or "").lower())


def ad_performance_compute(*, tenant, as_of: datetime.date, since: datetime.date | None) -> dict:
    """Rewrite the attributed rows up to ``as_of`` and return, per day, the blended figures the
    KPI rows carry: {day number: spend}, plus counts for the step summary."""
    currency = (tenant.setting("currency") or "").upper()
    since = since or as_of
    every = spend_rows(since=since, until=as_of)
    spend = [row for row in every if not row.get("currency") or row["currency"].upper() == currency]
    skipped = len(every) - len(spend)
    cells: dict[tuple, dict] = defaultdict(lambda: {"spend": Decimal(0), "clicks": 0, "impressions": 0, "orders": 0,
                                                    "cents": 0, "new": 0, "name": ""})
    campaigns: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)  # channel -> key -> (id, name)
    daily_spend: dict[int, Decimal] = defaultdict(Decimal)
    for row in spend:
        cell = cells[(row["date"], row["channel"], row["campaign_id"])]
        cell["spend"] += Decimal(row["spend"])
        cell["clicks"] += int(row.get("clicks") or 0)
        cell["impressions"] += int(row.get("impressions") or 0)
        cell["name"] = row.get("campaign_name") or cell["name"]
        daily_spend[day_number(row["date"])] += Decimal(row["spend"])
        for key in (campaign_key(row["campaign_id"]), campaign_key(row.get("campaign_name", ""))):
            if key:
                campaigns[row["channel"]][key] = (row["campaign_id"], row.get("campaign_name") or "")
    attributed = 0
    for day, source, campaign, orders, cents, new in attributed_orders_sql(tz=tenant.setting("timezone"),
                                                                          until=as_of):
        channel = _CHANNEL_OF.get(source)
        if channel is None or day < since:
            continue
        campaign_id, name = campaigns[channel].get(campaign_key(campaign), ("", ""))
        cell = cells[(day, channel, campaign_id)]
        cell["orders"] += orders
        cell["cents"] += cents
        cell["new"] += new
        cell["name"] = cell["name"] or name
        attributed += orders
    rows = []
    for (day, channel, campaign_id), cell in sorted(cells.items()):
        revenue = money(Decimal(cell["cents"]) / 100)
        rows.append((day, channel, campaign_id, cell["name"], money(cell["spend"]), cell["clicks"],
                     cell["impressions"], cell["orders"], revenue, cell["new"],
                     money(cell["spend"] / cell["new"]) if cell["new"] and cell["spend"] else None,
                     round(float(revenue / cell["spend"]), 4) if cell["spend"] else None, as_of))
    written = ad_performance_write_sql(as_of=as_of, rows=rows)
    return {"daily_spend": daily_spend, "rows": written, "attributed_orders": attributed,
            "spend_rows_other_currency": skipped}
