"""Events analytics publishes after a run commits (integrations turns them into webhooks).

- ``segment.entered`` / ``segment.left`` (segment_id, segment_name, customer_ids): who joined or
  left a dynamic segment when it was re-materialized, in chunks of at most 1,000 ids.
- ``churn.band_changed`` (changes=[{"customer_id", "old", "new"}]): customers whose churn risk
  band moved since the previous scoring, in chunks of at most 1,000.
- ``analytics.run_completed`` (job_id, as_of, status, rows).
"""

from __future__ import annotations

from cdp.events import EventBus

EVENTS = ("segment.entered", "segment.left", "churn.band_changed", "analytics.run_completed")
CHUNK = 1000

bus = EventBus("analytics", EVENTS)
subscribe = bus.subscribe
unsubscribe = bus.unsubscribe
publish_on_commit = bus.publish_on_commit


def chunks(items: list, size: int = CHUNK) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]
