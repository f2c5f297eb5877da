"""Events analytics publishes after a run commits (integrations turns them into webhooks).

- ``segment.entered`` / ``segment.left`` (segment_id, segment_name, customer_ids): who joined or
  left a dynamic segment when it was re-materialized, in chunks of at most 1,000 ids.
- ``churn.band_changed`` (changes=[{"customer_id", "old", "new"}]): customers whose churn risk
  band moved since the previous scoring, in chunks of at most 1,000.
- ``analytics.run_completed`` (job_id, as_of, status, rows).

Ad spend comes in the other way: analytics may not import integrations (they are siblings), so
integrations registers a provider of its synced daily spend (``register_spend_provider``) and the
KPI step reads it through ``spend_rows``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable

from cdp.events import EventBus

EVENTS = ("segment.entered", "segment.left", "churn.band_changed", "analytics.run_completed")
CHUNK = 1000

bus = EventBus("analytics", EVENTS)
subscribe = bus.subscribe
unsubscribe = bus.unsubscribe
publish_on_commit = bus.publish_on_commit


def chunks(items: list, size: int = CHUNK) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


_spend_providers: list[Callable[..., Iterable[dict]]] = []


def register_spend_provider(provider: Callable[..., Iterable[dict]]) -> None:
    """``provider(since=, until=)`` yields the current tenant's daily ad spend between the two
    dates (inclusive) as dicts: date, channel ("google_ads", "facebook_ads"…), campaign_id,
    campaign_name, currency, spend (Decimal), clicks, impressions."""
    if provider not in _spend_providers:
        _spend_providers.append(provider)


def spend_rows(*, since: datetime.date, until: datetime.date) -> list[dict]:
    """Every registered provider's spend rows (none when no ad platform is installed)."""
    return [row for provider in _spend_providers for row in provider(since=since, until=until)]
