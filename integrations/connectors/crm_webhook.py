"""CRM (webhook): a sync pushes the unified customer profiles that changed since the last push to
the CRM's endpoint (the integration's ``base_url``), in signed batches.

Why a push and not an inbound hook: seed 002 only says each business has one CRM integration
("CRM configs"), not which way data flows. Orders already come in through the ingest API and the
order sources, so an inbound CRM hook would be a second door for the same thing; what a CRM lacks,
and only the CDP has, is one deduplicated profile per customer, with its merges and erasures.

Wire format: each batch is ``POST {base_url}`` with the body and headers of our outgoing webhooks
(``integrations.signing``), event ``customers.upsert``, signed with the integration's
``signing_secret`` credential: ``{"id", "event", "created_at", "tenant", "data": {"customers":
[profile...]}}`` (fields: ``integrations.selectors.CRM_PROFILE_FIELDS``). A 2xx answer accepts
the batch; receivers upsert by ``id``, since a batch may arrive twice (retries, the window
overlap). The first sync sends every profile; later ones what changed since, keyed by
(``updated_at``, ``id``) so an interrupted push resumes after the last accepted batch.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Iterator

from django.core.serializers.json import DjangoJSONEncoder

from integrations import conf
from integrations.connectors.base import Connector, Page, iso, parse_iso
from integrations.selectors import crm_profiles_changed
from integrations.signing import webhook_envelope, webhook_signed_headers

EVENT = "customers.upsert"


class CrmWebhookConnector(Connector):
    kind = "push"
    required_credentials = ("signing_secret",)
    since: datetime.datetime | None = None  # the window's start, once pages() has begun

    def pages(self, cursor: dict) -> Iterator[Page]:
        since = parse_iso(cursor["since"]) if cursor.get("since") else None
        until = parse_iso(cursor["until"]) if cursor.get("until") else self.now()
        after = (parse_iso(cursor["after"][0]), int(cursor["after"][1])) if cursor.get("after") else None
        self.since = since
        size = int(conf.get("INTEGRATIONS_CRM_BATCH_SIZE"))
        window = {"since": iso(since) if since else "", "until": iso(until)}
        while True:
            rows = crm_profiles_changed(since=since, until=until, after=after, limit=size + 1)
            batch = rows[:size]
            if batch:
                self.push(batch)
            if len(rows) <= size:
                yield Page(items=batch, cursor=self.finished_cursor(until), window=window)
                return
            after = (batch[-1]["updated_at"], batch[-1]["id"])
            yield Page(items=batch, cursor={**window, "after": [iso(after[0]), after[1]]}, window=window)

    def push(self, profiles: list[dict]) -> None:
        """One signed POST; raises ``SourceError`` unless the CRM answers 2xx (after retries)."""
        batch_id = str(uuid.uuid4())
        envelope = webhook_envelope(event=EVENT, payload={"customers": profiles}, event_id=batch_id)
        body = json.dumps(envelope, cls=DjangoJSONEncoder, separators=(",", ":")).encode()
        headers = webhook_signed_headers(secret=str(self.credentials["signing_secret"]), event=EVENT,
                                         event_id=batch_id, delivery=batch_id, body=body)
        # The URL as given (Connector strips a trailing slash, which may matter to the CRM).
        self.client().post(self.integration.base_url, data=body, headers=headers, expect_json=False)

    def records(self, items: list[dict]) -> list[dict]:
        return items

    def push_counts(self, items: list[dict]) -> dict:
        """Profiles new since the last push count as created, the others as updated."""
        created = sum(1 for item in items if self.since is None or item["created_at"] > self.since)
        return {"created": created, "updated": len(items) - created, "unchanged": 0, "rejected": 0}
