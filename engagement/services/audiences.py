"""Audience destinations: a segment's members pushed to a Meta Custom Audience or a Google Ads
Customer Match list (``engagement.services.audience_google``: offline user data jobs).

Meta's users endpoint (``POST {base}/{version}/{audience_id}/users`` to add, ``DELETE`` to remove)
takes a form field ``payload`` holding ``{"schema": ["EMAIL", "PHONE"], "data": [[sha256, sha256],
...]}`` (at most 10,000 rows a call) and answers ``{"audience_id", "session_id", "num_received",
"num_invalid_entries", "invalid_entry_samples"}``. Identifiers are normalized before hashing as
Meta asks: e-mail trimmed and lowercased; phone as digits only with the country code (E.164
without "+"); a missing one is sent as "" (the column stays aligned).

Consent: only people with a marketing consent granted on some channel are added (no marketing
consent, no ad targeting); ``segment.left`` removes people, and so does a full sync for members
who withdrew. Pushed from the worker only (``audience_sync_task``, ``audience_members_task``).
"""

from __future__ import annotations

import hashlib
import json

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from analytics.models import Segment, SegmentMembership
from cdp.context import Actor
from cdp.exceptions import ApplicationError
from cdp.ids import get_or_not_found
from cdp.tasks import enqueue, enqueue_on_commit
from customers.models import ConsentChannel, ConsentPurpose, Customer
from customers.selectors.consent import consent_allowed_ids
from engagement import conf
from engagement.channels.base import ChannelError, provider_call
from engagement.codes import AuditAction
from engagement.models import AudienceDestination
from engagement.selectors import provider_config
from engagement.services.audience_google import google_push
from engagement.services.common import audit

SYNC_TASK = "engagement.tasks.audience_sync_task"
MEMBERS_TASK = "engagement.tasks.audience_members_task"
SCHEMA = ["EMAIL", "PHONE"]


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest() if value else ""


def normalized_email(email: str | None) -> str:
    return (email or "").strip().lower()


def normalized_phone(phone: str | None) -> str:
    return "".join(ch for ch in (phone or "") if ch.isdigit()).lstrip("0")


def hashed_rows(customers) -> list[list[str]]:
    rows = []
    for customer in customers:
        row = [sha256(normalized_email(customer.email)), sha256(normalized_phone(customer.phone))]
        if any(row):
            rows.append(row)
    return rows


def marketing_consented(customer_ids) -> set[int]:
    allowed: set[int] = set()
    for channel in ConsentChannel.values:
        allowed |= consent_allowed_ids(customer_ids=customer_ids, channel=channel, purpose=ConsentPurpose.MARKETING)
    return allowed


@transaction.atomic
def audience_destination_create(*, audience_id: str, segment_id, actor: Actor,
                                platform: str = AudienceDestination.Platform.META) -> AudienceDestination:
    """Keep ``segment_id`` synced to the audience ``audience_id`` (Meta's audience id, or Google's
    user list id) on ``platform``."""
    if platform not in AudienceDestination.Platform.values:
        raise ApplicationError("Unknown platform.", fields={"platform": [
            f"One of {', '.join(AudienceDestination.Platform.values)}."]})
    if not str(audience_id or "").isdigit() or len(str(audience_id)) > 20:
        raise ApplicationError("Audience and user list ids are digits.", fields={"audience_id": ["Digits only."]})
    segment = get_or_not_found(Segment, segment_id, "Segment not found.")
    if AudienceDestination.objects.filter(platform=platform, audience_id=str(audience_id),
                                          segment_id=segment.pk).exists():
        raise ApplicationError("This segment already goes to that audience.",
                               fields={"audience_id": ["Already a destination of this segment."]})
    destination = AudienceDestination.objects.create(platform=platform, audience_id=str(audience_id),
                                                     segment_id=segment.pk, created_by=actor.label)
    audit(actor=actor, action=AuditAction.AUDIENCE_DESTINATION_CREATE, resource_type="audience_destination",
          resource_id=destination.pk, changes={"audience_id": [None, destination.audience_id],
                                               "segment_id": [None, segment.pk]})
    return destination


@transaction.atomic
def audience_sync_request(*, destination_id: int, actor: Actor) -> None:
    """Queue a full sync on the worker (audited)."""
    audit(actor=actor, action=AuditAction.AUDIENCE_SYNC, resource_type="audience_destination",
          resource_id=destination_id)
    enqueue_on_commit(SYNC_TASK, destination_id=destination_id)


def _push(destination: AudienceDestination, rows: list[list[str]], *, remove: bool) -> tuple[int, int]:
    """Send ``rows`` in batches; returns (received, invalid) as Meta counted them."""
    url = (f"{conf.get('ENGAGEMENT_META_BASE_URL').rstrip('/')}/{conf.get('ENGAGEMENT_META_API_VERSION')}"
           f"/{destination.audience_id}/users")
    batch = max(1, min(10000, int(conf.get("ENGAGEMENT_META_BATCH"))))
    received = invalid = 0
    for index in range(0, len(rows), batch):
        form = {"payload": json.dumps({"schema": SCHEMA, "data": rows[index:index + batch]}),
                "access_token": provider_config("meta")["access_token"]}
        response = provider_call("DELETE" if remove else "POST", url, data=form)
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        if response.status_code >= 300:
            error = body.get("error") if isinstance(body.get("error"), dict) else {}
            raise ChannelError(f"Meta {response.status_code} (code {error.get('code')}): "
                               f"{error.get('message') or response.text[:200]}")
        received += int(body.get("num_received") or 0)
        invalid += int(body.get("num_invalid_entries") or 0)
    return received, invalid


def audience_members_push(*, destination_id: int, customer_ids: list[int], remove: bool = False) -> dict:
    """Add (consented people only) or remove ``customer_ids`` at the destination; records counts
    and the last error (then re-raises it, so the task can retry)."""
    destination = AudienceDestination.objects.get(pk=destination_id)
    ids = list(customer_ids) if remove else sorted(marketing_consented(customer_ids))
    people = Customer.objects.filter(pk__in=ids).only("id", "email", "phone").order_by("id")
    job = ""
    try:
        if destination.platform == AudienceDestination.Platform.GOOGLE:
            received, invalid, job = google_push(user_list_id=destination.audience_id, customers=people,
                                                 remove=remove)
            rows = [None] * (received + invalid)
        else:
            rows = hashed_rows(people)
            received, invalid = _push(destination, rows, remove=remove) if rows else (0, 0)
    except ChannelError as exc:
        AudienceDestination.objects.filter(pk=destination.pk).update(last_error=exc.message[:2000])
        raise
    changes = {"last_synced_at": timezone.now(), "last_error": ""}
    if job:
        changes["last_job"] = job
    if remove:
        changes["removed_count"] = F("removed_count") + received
    else:
        changes.update(sent_count=F("sent_count") + received, invalid_count=F("invalid_count") + invalid)
    AudienceDestination.objects.filter(pk=destination.pk).update(**changes)
    return {"rows": len(rows), "received": received, "invalid": invalid}


def audience_sync(*, destination_id: int) -> dict:
    """Push every current member with consent, and remove members without it."""
    destination = AudienceDestination.objects.get(pk=destination_id)
    members = list(SegmentMembership.objects.filter(segment_id=destination.segment_id)
                   .values_list("customer_id", flat=True))
    consented = marketing_consented(members)
    added = audience_members_push(destination_id=destination.pk, customer_ids=sorted(consented))
    withdrawn = sorted(set(members) - consented)
    removed = audience_members_push(destination_id=destination.pk, customer_ids=withdrawn, remove=True) \
        if withdrawn else {"rows": 0}
    return {"added": added["rows"], "removed": removed["rows"]}


def audience_segment_event(*, event: str, payloads: list[dict]) -> None:
    """From a bus handler: segment.entered / segment.left chunks for segments with a destination
    become push tasks (the worker calls Meta, never the publisher)."""
    segment_ids = {int(p.get("segment_id") or 0) for p in payloads}
    destinations = AudienceDestination.objects.filter(segment_id__in=segment_ids, is_active=True)
    for destination in destinations.only("id", "segment_id"):
        for payload in payloads:
            if int(payload.get("segment_id") or 0) == destination.segment_id and payload.get("customer_ids"):
                enqueue(MEMBERS_TASK, destination_id=destination.pk, customer_ids=list(payload["customer_ids"]),
                        remove=event == "segment.left")
