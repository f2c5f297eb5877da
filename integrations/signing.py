"""What everything we send signed looks like: the envelope and its headers (outgoing webhook
deliveries and CRM pushes), and the reference check a receiver runs.

Signature scheme (documented for receivers)
-------------------------------------------
Every signed request is an HTTP POST with a JSON body::

    {"id": "<event uuid>", "event": "customer.created", "created_at": "<ISO 8601>",
     "tenant": "<tenant slug>", "data": {...}}

and these headers::

    Content-Type: application/json
    X-CDP-Event: customer.created
    X-CDP-Delivery: <delivery id>          (differs between redeliveries of one event)
    X-CDP-Event-Id: <event uuid>           (the same for redeliveries: use it to deduplicate)
    X-CDP-Timestamp: <unix seconds>
    X-CDP-Signature: sha256=<hex>

where ``<hex>`` = HMAC-SHA256(key = the endpoint's secret, message = "{timestamp}.{raw body}")
as lowercase hex. To verify: recompute over the exact raw body bytes, compare in constant time
(``hmac.compare_digest``), and reject timestamps more than 5 minutes from now (replays).
``webhook_signature_verify`` below is a reference implementation.

Pure functions (no database, no HTTP): the webhook services and the CRM connector both use them,
so neither imports the other.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from django.db import connection
from django.utils import timezone

SIGNATURE_TOLERANCE_SECONDS = 300


def webhook_sign(*, secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_signed_headers(*, secret: str, event: str, event_id: str, delivery: str, body: bytes) -> dict:
    """The headers of every signed request we send (webhook deliveries, CRM pushes)."""
    timestamp = int(time.time())
    signature = webhook_sign(secret=secret, timestamp=timestamp, body=body)
    return {"Content-Type": "application/json", "User-Agent": "CDP-Webhooks/1.0", "X-CDP-Event": event,
            "X-CDP-Delivery": delivery, "X-CDP-Event-Id": event_id, "X-CDP-Timestamp": str(timestamp),
            "X-CDP-Signature": signature}


def webhook_signature_verify(*, secret: str, timestamp: str, body: bytes, signature: str,
                             now: float | None = None) -> bool:
    """True when ``signature`` is ours for this body and timestamp, and the timestamp is fresh."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((now or time.time()) - ts) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(webhook_sign(secret=secret, timestamp=ts, body=body), signature or "")


def webhook_envelope(*, event: str, payload: dict, event_id: str) -> dict:
    """The body of everything we send signed: ``{"id", "event", "created_at", "tenant", "data"}``."""
    tenant = getattr(connection, "tenant", None)
    return {"id": event_id, "event": event, "created_at": timezone.now().isoformat(),
            "tenant": getattr(tenant, "slug", ""), "data": payload}
