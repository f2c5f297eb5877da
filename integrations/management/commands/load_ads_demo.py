"""The demo store's advertising: two ad accounts (Google Ads, Meta), switched off so nothing ever
syncs them, with the daily spend of the campaigns whose UTM tags the demo orders carry
(``customers.demo.CAMPAIGNS``), so the dashboard's CAC and ROAS have numbers. Idempotent: the
spend of a day never changes, and rows are upserted by (account, day, campaign).

    manage.py load_ads_demo --tenant demo
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.utils import timezone

from cdp.commands import TenantCommand
from cdp.context import Actor
from cdp.exceptions import Conflict
from customers.demo import ORIGIN, SEASON
from integrations.models import Integration
from integrations.services import integration_create
from integrations.services.raw import ad_spend_upsert

#: (integration type, account, campaign id, campaign name, ARS per day on an average day). Names
#: match the UTM campaigns of customers.demo once lowercased without punctuation.
CAMPAIGNS = (
    ("google_ads", "search-yerba", "9876543210", "Search - Yerba", 1700),
    ("google_ads", "shopping-mates", "9876543211", "Shopping - Mates", 1300),
    ("facebook_ads", "prospecting-invierno", "23850000000001", "Prospecting - Invierno", 1800),
    ("facebook_ads", "retargeting", "23850000000002", "Retargeting", 900),
)
ACCOUNTS = {
    "google_ads": {"credentials": {"developer_token": "demo", "access_token": "demo"},
                   "config": {"customer_id": "1234567890", "currency": "ARS"}},
    "facebook_ads": {"credentials": {"access_token": "demo"},
                     "config": {"ad_account_id": "1234567890", "currency": "ARS"}},
}
ACCOUNT_NAME = "demo-store"


def _account(kind: str, actor: Actor) -> Integration:
    existing = Integration.objects.filter(integration_type=kind, account_name=ACCOUNT_NAME).first()
    if existing is not None:
        return existing
    try:
        return integration_create(integration_type=kind, account_name=ACCOUNT_NAME, actor=actor, is_active=False,
                                  sync_frequency=Integration.Frequency.MANUAL, **ACCOUNTS[kind])
    except Conflict:  # created meanwhile
        return Integration.objects.get(integration_type=kind, account_name=ACCOUNT_NAME)


def demo_spend_rows(*, kind: str, until: datetime.date) -> list[dict]:
    """Daily rows of ``kind``'s demo campaigns from the store's opening to ``until``: the budget
    follows the season, with day-to-day noise drawn per (campaign, day) so a day never changes."""
    rows = []
    day = ORIGIN.date()
    while day <= until:
        for campaign_kind, _, campaign_id, name, budget in CAMPAIGNS:
            if campaign_kind != kind:
                continue
            rng = random.Random(f"ads-{campaign_id}-{day.isoformat()}")
            spend = Decimal(budget * SEASON[day.month] * rng.uniform(0.7, 1.3)).quantize(Decimal("0.01"))
            clicks = int(spend / Decimal(rng.uniform(80, 160)))
            rows.append({"date": day.isoformat(), "campaign_id": campaign_id, "campaign_name": name, "channel": kind,
                         "spend": spend, "clicks": clicks, "impressions": clicks * rng.randrange(25, 60),
                         "raw": {"demo": True}})
        day += datetime.timedelta(days=1)
    return rows


class Command(TenantCommand):
    help = "Load the demo store's ad accounts and daily campaign spend (idempotent): load_ads_demo --tenant SLUG"

    def handle_tenant(self, tenant, *args, **options):
        actor = Actor.system("command:load_ads_demo")
        until = timezone.localdate()
        totals = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0}
        for kind in ACCOUNTS:
            counts = ad_spend_upsert(integration=_account(kind, actor), currency="ARS",
                                     rows=demo_spend_rows(kind=kind, until=until))
            for key in totals:
                totals[key] += counts[key]
        self.stdout.write(f"Demo ad spend for {tenant.slug}: " + ", ".join(f"{v:,} {k}" for k, v in totals.items()))
