"""Outgoing webhooks: endpoints, signed deliveries, retries, auto-disable, redeliver and ping.

Every delivery is a signed POST of the event's envelope (``integrations.signing`` documents the
body, the headers and how a receiver verifies the signature).

Delivery: a 2xx answer, complete within INTEGRATIONS_WEBHOOK_TIMEOUT seconds (wall clock, from
connecting to the last byte) and no larger than INTEGRATIONS_WEBHOOK_MAX_RESPONSE_BYTES, is
success. Anything else is retried with exponential backoff (INTEGRATIONS_WEBHOOK_BACKOFF_BASE *
2^(attempt-1) seconds) up to INTEGRATIONS_WEBHOOK_MAX_ATTEMPTS attempts; after
INTEGRATIONS_WEBHOOK_DISABLE_AFTER consecutive failed attempts the endpoint is disabled
(re-enable it by updating ``is_active``). Deliveries are sent by one drain task per tenant
(``webhooks_drain``), pings first, so one tenant's slow receivers never hold more than one
worker slot; retries are sent when due (within a minute of their time).
"""

from __future__ import annotations

import datetime
import json
import logging
import secrets as pysecrets
import time
import uuid

import requests
from django.db import connection, transaction
from django.utils import timezone

from analytics import registry as analytics_registry
from cdp import softdelete
from cdp.context import Actor
from cdp.exceptions import ApplicationError, NotFound, full_clean_or_raise
from cdp.ids import get_or_not_found
from cdp.redact import urls_redact
from cdp.tasks import enqueue
from customers import registry as customers_registry
from integrations import conf, crypto, limits
from integrations.codes import AuditAction, ErrorCode
from integrations.http import DeadlineExceeded, ResponseTooLarge, UnsafeUrl, outbound_request, url_guard
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.selectors import webhook_endpoint_get
from integrations.signing import webhook_envelope, webhook_signed_headers
from tenants.selectors import tenant_list_active
from tenants.services import audit_record

logger = logging.getLogger(__name__)

#: What an endpoint may subscribe to: every event customers and analytics publish (their registries
#: list them; integrations/apps.py forwards each one here).
WEBHOOK_EVENTS = (*customers_registry.EVENTS, *analytics_registry.EVENTS)
PING_EVENT = "webhook.ping"


def _clean_events(events) -> list[str]:
    if not isinstance(events, list) or not events:
        raise ApplicationError("Choose at least one event.", fields={"events": ["A non-empty list is required."]})
    unknown = [e for e in events if e != "*" and e not in WEBHOOK_EVENTS]
    if unknown:
        raise ApplicationError("Unknown events.", fields={"events": [
            f"Unknown: {', '.join(map(str, unknown))}. Known: {', '.join(WEBHOOK_EVENTS)} or *."]})
    return sorted(set(events))


def _audit(*, actor: Actor, action: str, endpoint: WebhookEndpoint, changes: dict | None = None) -> None:
    audit_record(actor=actor, action=action, resource_type="webhook_endpoint", resource_id=endpoint.pk,
                 tenant=connection.tenant, changes=urls_redact(changes or {}))


@transaction.atomic
def webhook_endpoint_create(*, url: str, events: list[str], actor: Actor, description: str = "",
                            secret: str | None = None) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint. Returns it with its signing secret, which is shown this once (it is
    stored encrypted and never returned again)."""
    secret = secret or f"whsec_{pysecrets.token_urlsafe(32)}"
    if len(secret) < 16:
        raise ApplicationError("The secret must have at least 16 characters.", fields={"secret": ["Too short."]})
    endpoint = WebhookEndpoint(url=url, events=_clean_events(events), description=description,
                               secret_encrypted=crypto.encrypt_text(secret))
    full_clean_or_raise(endpoint, "Some fields are invalid.")
    url_guard(url, field="url")
    endpoint.save()
    _wanted_clear()
    _audit(actor=actor, action=AuditAction.WEBHOOK_ENDPOINT_CREATE, endpoint=endpoint,
           changes={"url": url, "events": endpoint.events})
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_update(*, endpoint_id: int, actor: Actor, url: str | None = None, events=None,
                            description: str | None = None, is_active: bool | None = None,
                            secret: str | None = None) -> WebhookEndpoint:
    """Update an endpoint; re-activating one clears its failure count."""
    endpoint = get_or_not_found(WebhookEndpoint, endpoint_id, "No such webhook endpoint.", lock=True)
    changes = {}
    if url is not None and url != endpoint.url:
        changes["url"], endpoint.url = [endpoint.url, url], url
    if events is not None:
        events = _clean_events(events)
        if events != endpoint.events:
            changes["events"], endpoint.events = [endpoint.events, events], events
    if description is not None:
        endpoint.description = description
    if is_active is not None and is_active != endpoint.is_active:
        changes["is_active"] = [endpoint.is_active, is_active]
        endpoint.is_active = is_active
        if is_active:
            endpoint.consecutive_failures, endpoint.disabled_at, endpoint.disabled_reason = 0, None, ""
    if secret:
        if len(secret) < 16:
            raise ApplicationError("The secret must have at least 16 characters.", fields={"secret": ["Too short."]})
        endpoint.secret_encrypted = crypto.encrypt_text(secret)
        changes["secret"] = "rotated"
    full_clean_or_raise(endpoint, "Some fields are invalid.")
    if "url" in changes:
        url_guard(endpoint.url, field="url")
    endpoint.save()
    _wanted_clear()
    _audit(actor=actor, action=AuditAction.WEBHOOK_ENDPOINT_UPDATE, endpoint=endpoint, changes=changes)
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, endpoint_id: int, actor: Actor) -> None:
    """Delete an endpoint: no more events go to it (its pending deliveries fail as "Endpoint
    deleted."); restorable for CDP_RESTORE_DAYS days (``webhook_endpoint_restore``), then purged."""
    endpoint = webhook_endpoint_get(endpoint_id=endpoint_id)
    _audit(actor=actor, action=AuditAction.WEBHOOK_ENDPOINT_DELETE, endpoint=endpoint, changes={"url": endpoint.url})
    endpoint.delete()
    _wanted_clear()


@transaction.atomic
def webhook_endpoint_restore(*, endpoint_id: int, actor: Actor) -> WebhookEndpoint:
    """Bring back a deleted endpoint within its restore window; events reach it again from now on."""
    endpoint = get_or_not_found(softdelete.restorable(WebhookEndpoint), endpoint_id, "No such deleted endpoint.",
                                lock=True)
    endpoint.undelete()
    _audit(actor=actor, action=AuditAction.WEBHOOK_ENDPOINT_RESTORE, endpoint=endpoint, changes={"url": endpoint.url})
    _wanted_clear()
    return endpoint


DRAIN = "webhooks"  # the slot, flag and due-index name of the per-tenant drain
DRAIN_TASK = "integrations.tasks.webhook_drain_task"


def webhooks_kick(*, force: bool = False) -> None:
    """After commit: make sure a drain of the current tenant's deliveries is queued. Many events
    ask for one; one task is queued until it runs (``force`` queues one regardless: the sweep)."""
    schema = connection.schema_name

    def send():
        limits.due_mark(DRAIN, when=time.time(), schema=schema)
        if force or limits.flag_set_once(DRAIN, ttl=600, schema=schema):
            enqueue(DRAIN_TASK)

    transaction.on_commit(send)


def _due_batch(*, limit: int = 50) -> list[tuple[int, str]]:
    """Up to ``limit`` (id, event) of deliveries to attempt now: pings first (someone is waiting
    for them), then the oldest. Each part walks its own partial index, in order, so a backlog of a
    million deliveries costs no sort."""
    now = timezone.now()
    rows = WebhookDelivery.objects.values_list("id", "event", "created_at")
    pings = list(rows.filter(event=PING_EVENT, status=WebhookDelivery.Status.PENDING).order_by("created_at", "id")[
        :limit])
    if pings:
        return [(pk, event) for pk, event, _ in pings]
    fresh = list(rows.filter(status=WebhookDelivery.Status.PENDING).order_by("created_at", "id")[:limit])
    retries = list(rows.filter(status=WebhookDelivery.Status.RETRYING, next_retry_at__lte=now)
                   .order_by("next_retry_at", "id")[:limit])
    return [(pk, event) for pk, event, _ in sorted(fresh + retries, key=lambda row: (row[2], row[0]))[:limit]]


def webhooks_drain(*, budget: float | None = None) -> int:
    """Attempt the current tenant's due deliveries one at a time, for up to ``budget`` seconds
    (INTEGRATIONS_WEBHOOK_DRAIN_SECONDS; at least one attempt), and return how many were made.

    Fair queueing between tenants: one drain per tenant runs at a time (a Redis slot), so a
    tenant's slow receivers hold one worker slot at most, never the pool; a drain that ends with
    work left queues its follow-up behind the tasks already waiting (other tenants' drains, syncs).
    Retries come due later: ``webhooks_wake_due`` (every minute) queues the drain then."""
    budget = float(conf.get("INTEGRATIONS_WEBHOOK_DRAIN_SECONDS") if budget is None else budget)
    hold = budget + float(conf.get("INTEGRATIONS_WEBHOOK_TIMEOUT")) + 120  # a killed drain frees it then
    token = limits.slot_try_acquire(DRAIN, limit=1, ttl=hold)
    if token is None:
        return 0  # another drain of this tenant is running; it looks again before it ends
    started, attempts, tried = time.monotonic(), 0, set()
    try:
        while attempts == 0 or time.monotonic() - started < budget:
            batch = [(pk, event) for pk, event in _due_batch() if pk not in tried]
            if not batch:
                break
            for pk, event in batch:
                tried.add(pk)
                webhook_delivery_attempt(delivery_id=pk, retry=event != PING_EVENT)
                attempts += 1
                if time.monotonic() - started >= budget:
                    break
    finally:
        limits.slot_release(DRAIN, token)
        limits.flag_clear(DRAIN)  # from here on, a new delivery queues its own drain
    if _due_batch(limit=1):
        webhooks_kick()
    else:
        later = (WebhookDelivery.objects.filter(status=WebhookDelivery.Status.RETRYING)
                 .order_by("next_retry_at").values_list("next_retry_at", flat=True).first())
        if later is None:
            limits.due_unmark(DRAIN)
        else:
            limits.due_mark(DRAIN, when=later.timestamp(), earlier_only=False)
    return attempts


def webhooks_wake_due(*, now: float | None = None) -> int:
    """Public schema, every minute: queue a drain for each active tenant whose retries (or
    deliveries whose drain was lost with its worker) are due by ``now`` (unix seconds). Returns
    how many were queued."""
    due = set(limits.due_schemas(DRAIN, now=time.time() if now is None else now))
    if not due:
        return 0
    count = 0
    for tenant in tenant_list_active().filter(schema_name__in=due):
        enqueue(DRAIN_TASK, options={"headers": {"_schema_name": tenant.schema_name}})
        count += 1
    return count


#: Per process and schema: which events any active endpoint wants, for a few seconds. Ingest
#: publishes an event per order; without this each one would cost a query even when the tenant
#: has no endpoints. Writes here clear it; other processes see a change within the TTL.
_WANTED_TTL_SECONDS = 5.0
_wanted_cache: dict[str, tuple[float, frozenset]] = {}


def _wanted_events() -> frozenset:
    schema = connection.schema_name
    cached = _wanted_cache.get(schema)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    wanted = frozenset(e for events in WebhookEndpoint.objects.filter(is_active=True).values_list("events", flat=True)
                       for e in events)
    _wanted_cache[schema] = (time.monotonic() + _WANTED_TTL_SECONDS, wanted)
    return wanted


def _wanted_clear() -> None:
    _wanted_cache.pop(connection.schema_name, None)
    transaction.on_commit(lambda schema=connection.schema_name: _wanted_cache.pop(schema, None))


def webhook_emit(*, event: str, payload: dict) -> list[int]:
    """Queue ``event`` for every active endpoint of the current tenant that subscribes to it.
    Deliveries are stored now and sent by the worker after commit. Returns the delivery ids."""
    if event not in WEBHOOK_EVENTS:
        raise ApplicationError(f"Unknown webhook event '{event}'.", code=ErrorCode.EVENT_UNKNOWN)
    wanted = _wanted_events()
    if event not in wanted and "*" not in wanted:
        return []
    endpoints = [e for e in WebhookEndpoint.objects.filter(is_active=True).only("id", "events") if e.wants(event)]
    if not endpoints:
        return []
    event_id = str(uuid.uuid4())
    envelope = webhook_envelope(event=event, payload=payload, event_id=event_id)
    with transaction.atomic():
        deliveries = WebhookDelivery.objects.bulk_create([
            WebhookDelivery(endpoint=endpoint, event=event, event_id=event_id, payload=envelope)
            for endpoint in endpoints])
        webhooks_kick()
    return [d.pk for d in deliveries]


#: What the delivery log keeps of a receiver's answer (characters); we read at most
#: INTEGRATIONS_WEBHOOK_MAX_RESPONSE_BYTES of it.
RESPONSE_EXCERPT_CHARS = 500


def _excerpt(content: bytes, secret: str) -> str:
    text = content[:RESPONSE_EXCERPT_CHARS * 4].decode("utf-8", "replace")[:RESPONSE_EXCERPT_CHARS]
    return crypto.mask(text, [secret])


def _post(*, endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> tuple[int | None, int, str, str]:
    """POST the signed delivery: (status code or None, elapsed ms, response excerpt, error). The
    URL is checked again now: its host may resolve elsewhere than when it was registered. The
    whole attempt (connect, answer, body) has INTEGRATIONS_WEBHOOK_TIMEOUT seconds, wall clock,
    and at most INTEGRATIONS_WEBHOOK_MAX_RESPONSE_BYTES of the answer are read."""
    secret = crypto.decrypt_text(endpoint.secret_encrypted)
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    headers = webhook_signed_headers(secret=secret, event=delivery.event, event_id=str(delivery.event_id),
                                     delivery=str(delivery.pk), body=body)
    timeout = float(conf.get("INTEGRATIONS_WEBHOOK_TIMEOUT"))
    started = time.perf_counter()

    def elapsed() -> int:
        return int((time.perf_counter() - started) * 1000)

    try:
        response = outbound_request("POST", endpoint.url, data=body, headers=headers, timeout=timeout, deadline=timeout,
                                    max_bytes=int(conf.get("INTEGRATIONS_WEBHOOK_MAX_RESPONSE_BYTES")))
    except UnsafeUrl as exc:
        return None, elapsed(), "", f"Refused: {exc.message}"[:500]
    except ResponseTooLarge as exc:
        return (exc.response.status_code, elapsed(), _excerpt(exc.response.content, secret),
                f"The answer is larger than {exc.limit} bytes; stopped reading.")
    except DeadlineExceeded:
        return None, elapsed(), "", f"No complete answer within {timeout:g}s."
    except requests.Timeout:
        return None, elapsed(), "", "Timed out."
    except requests.RequestException as exc:
        return None, elapsed(), "", f"Could not connect ({type(exc).__name__})."
    return response.status_code, elapsed(), _excerpt(response.content, secret), ""


def webhook_delivery_attempt(*, delivery_id: int, retry: bool = True) -> int | None:
    """Send one delivery once. Returns the seconds until the next retry when it failed and may be
    retried, else None. Counts consecutive failures on the endpoint and disables it at the limit."""
    with transaction.atomic():
        delivery = (WebhookDelivery.objects.select_for_update().select_related("endpoint")
                    .filter(pk=delivery_id).first())
        if delivery is None or delivery.status in (WebhookDelivery.Status.SUCCESS, WebhookDelivery.Status.FAILED):
            return None
        endpoint = delivery.endpoint  # the base manager: a deleted endpoint too
        if endpoint.deleted_at is not None:
            delivery.status, delivery.next_retry_at = WebhookDelivery.Status.FAILED, None
            delivery.error = "Endpoint deleted."
            delivery.save(update_fields=["status", "error", "next_retry_at", "updated_at"])
            return None
        if not endpoint.is_active and delivery.event != PING_EVENT:
            delivery.status, delivery.next_retry_at = WebhookDelivery.Status.FAILED, None
            delivery.error = "Endpoint disabled."
            delivery.save(update_fields=["status", "error", "next_retry_at", "updated_at"])
            return None
    code, elapsed, excerpt, error = _post(endpoint=endpoint, delivery=delivery)
    ok = code is not None and 200 <= code < 300 and not error
    now = timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        endpoint = WebhookEndpoint.all_objects.select_for_update().get(pk=delivery.endpoint_id)
        delivery.attempts += 1
        delivery.response_code, delivery.response_time_ms, delivery.response_body = code, elapsed, excerpt
        delivery.error = error or ("" if ok else f"Answered {code}.")
        countdown = None
        if ok:
            delivery.status, delivery.delivered_at, delivery.next_retry_at = WebhookDelivery.Status.SUCCESS, now, None
            endpoint.consecutive_failures = 0
        else:
            endpoint.consecutive_failures += 1
            limit = int(conf.get("INTEGRATIONS_WEBHOOK_DISABLE_AFTER"))
            if endpoint.is_active and endpoint.consecutive_failures >= limit:
                endpoint.is_active, endpoint.disabled_at = False, now
                endpoint.disabled_reason = (f"Disabled after {endpoint.consecutive_failures} "
                                            "consecutive failed deliveries.")
                logger.warning("webhook endpoint %s disabled after %s failures", endpoint.pk,
                               endpoint.consecutive_failures)
                _wanted_clear()
            if retry and endpoint.is_active and delivery.attempts < int(conf.get("INTEGRATIONS_WEBHOOK_MAX_ATTEMPTS")):
                countdown = int(conf.get("INTEGRATIONS_WEBHOOK_BACKOFF_BASE")) * 2 ** (delivery.attempts - 1)
                delivery.status = WebhookDelivery.Status.RETRYING
                delivery.next_retry_at = now + datetime.timedelta(seconds=countdown)
            else:
                delivery.status, delivery.next_retry_at = WebhookDelivery.Status.FAILED, None
        delivery.save()
        endpoint.save(update_fields=["consecutive_failures", "is_active", "disabled_at", "disabled_reason",
                                     "updated_at"])
    return countdown


@transaction.atomic
def webhook_redeliver(*, endpoint_id: int, delivery_id: int, actor: Actor) -> WebhookDelivery:
    """Send a past delivery again, as a new delivery of the same event (same event id)."""
    original = WebhookDelivery.objects.filter(pk=delivery_id, endpoint_id=endpoint_id).first()
    if original is None:
        raise NotFound("No such delivery for this endpoint.")
    if not original.endpoint.is_active:
        raise ApplicationError("The endpoint is disabled; enable it first.", code=ErrorCode.ENDPOINT_DISABLED)
    copy = WebhookDelivery.objects.create(endpoint_id=endpoint_id, event=original.event, event_id=original.event_id,
                                          payload=original.payload, redelivery_of=original)
    _audit(actor=actor, action=AuditAction.WEBHOOK_DELIVERY_REDELIVER, endpoint=original.endpoint,
           changes={"delivery": original.pk, "new_delivery": copy.pk})
    webhooks_kick()
    return copy


@transaction.atomic
def webhook_ping(*, endpoint_id: int, actor: Actor) -> WebhookDelivery:
    """Queue a signed ``webhook.ping`` to the endpoint (sent once by the worker, before the
    tenant's other deliveries, no retries) and return its delivery, still ``pending``: the
    receiver's answer appears in the endpoint's delivery log. Never sent from here: a web request
    must not wait on a host the tenant chose. Works on a disabled endpoint, to test it before
    enabling."""
    endpoint = webhook_endpoint_get(endpoint_id=endpoint_id)
    event_id = str(uuid.uuid4())
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event=PING_EVENT, event_id=event_id,
        payload=webhook_envelope(event=PING_EVENT, payload={"endpoint_id": endpoint.pk}, event_id=event_id))
    _audit(actor=actor, action=AuditAction.WEBHOOK_ENDPOINT_PING, endpoint=endpoint)
    webhooks_kick()
    return delivery
