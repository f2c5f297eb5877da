"""Running a sync: claim the integration (one sync at a time), walk the connector's pages,
commit each page (raw payloads, ingest or spend rows or the count of profiles pushed, cursor,
counters) in ONE transaction, and record the outcome. The cursor only moves with a committed
page, and ingest is idempotent on (source, external order id), so a sync interrupted anywhere
resumes without losing or duplicating a record."""

from __future__ import annotations

import datetime
import logging
import queue
import threading
import time

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict, NotFound
from integrations import conf, crypto
from integrations.connectors import connector_for
from integrations.models import Integration, SyncLog
from integrations.services.integrations import integration_credentials, integration_credentials_store
from integrations.services.raw import ad_spend_upsert

logger = logging.getLogger(__name__)

FREQUENCY_INTERVALS = {
    Integration.Frequency.HOURLY: datetime.timedelta(hours=1),
    Integration.Frequency.DAILY: datetime.timedelta(days=1),
    Integration.Frequency.WEEKLY: datetime.timedelta(weeks=1),
}
MAX_REJECTIONS_KEPT = 20


def _sync_actor(integration: Integration) -> Actor:
    return Actor.system(f"sync:{integration.integration_type}:{integration.account_name}"[:255])


@transaction.atomic
def sync_claim(*, integration_id: int, trigger: str) -> SyncLog:
    """Mark the integration running and open its log entry, or raise Conflict if a sync holds it.
    The row lock makes two concurrent claims serialize; the committed ``running`` state keeps the
    second out until the first finishes (or its claim goes stale: a killed worker)."""
    integration = Integration.objects.select_for_update().filter(pk=integration_id).first()
    if integration is None:
        raise NotFound("No such integration.")
    if not integration.is_active:
        raise ApplicationError("This integration is inactive.", code="integration_inactive")
    now = timezone.now()
    stale = now - datetime.timedelta(seconds=int(conf.get("INTEGRATIONS_SYNC_STALE_SECONDS")))
    if integration.state == Integration.State.RUNNING:
        if integration.sync_started_at and integration.sync_started_at > stale:
            raise Conflict("A sync of this integration is already running.", code="sync_running")
        SyncLog.objects.filter(integration=integration, status=SyncLog.Status.IN_PROGRESS).update(
            status=SyncLog.Status.ERROR, error_code="interrupted", finished_at=now,
            error="The worker running this sync stopped; the next sync resumed from the last committed page.")
    integration.state = Integration.State.RUNNING
    integration.sync_started_at = now
    integration.last_sync_status = SyncLog.Status.IN_PROGRESS
    integration.save(update_fields=["state", "sync_started_at", "last_sync_status", "updated_at"])
    return SyncLog.objects.create(integration=integration, trigger=trigger, window=dict(integration.cursor))


def _ingest_orders(*, integration: Integration, records: list[dict], actor: Actor) -> dict:
    from customers.services import MAX_BATCH, order_ingest

    counts = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0, "rejections": []}
    for start in range(0, len(records), MAX_BATCH):
        chunk = records[start:start + MAX_BATCH]
        # lenient: a store's unreadable phone is left out, not a reason to lose the order
        result = order_ingest(records=chunk, actor=actor, tenant=connection.tenant,
                              default_source=integration.source, lenient_profile=True)
        for item in result.results:
            counts[item.status] += 1
            if item.status == "rejected" and len(counts["rejections"]) < MAX_REJECTIONS_KEPT:
                counts["rejections"].append({"external_order_id": str(chunk[item.index].get("external_order_id")),
                                             "errors": item.errors})
    return counts


def sync_page_commit(*, connector, log: SyncLog, page, actor: Actor) -> dict:
    """Store one page and advance the cursor, all or nothing."""
    integration = connector.integration
    with transaction.atomic():
        connector.store_raw(page.items)
        records = connector.records(page.items)
        if connector.kind == "orders":
            counts = _ingest_orders(integration=integration, records=records, actor=actor)
        elif connector.kind == "spend":
            currency = connector.currency() or connection.tenant.setting("currency")
            counts = {**ad_spend_upsert(integration=integration, rows=records, currency=currency), "rejections": []}
        else:  # "push": the page was delivered before it was yielded; what is left is to count it
            counts = {**connector.push_counts(records), "rejections": []}
        Integration.objects.filter(pk=integration.pk).update(cursor=page.cursor)
        SyncLog.objects.filter(pk=log.pk).update(
            pages=F("pages") + 1, records_fetched=F("records_fetched") + len(page.items),
            records_created=F("records_created") + counts["created"],
            records_updated=F("records_updated") + counts["updated"],
            records_unchanged=F("records_unchanged") + counts["unchanged"],
            records_rejected=F("records_rejected") + counts["rejected"], window=page.window or log.window)
        if counts["rejections"]:
            log.refresh_from_db(fields=["rejections"])
            kept = (log.rejections + counts["rejections"])[:MAX_REJECTIONS_KEPT]
            SyncLog.objects.filter(pk=log.pk).update(rejections=kept)
    return counts


def _prefetched(pages, stop: threading.Event):
    """Fetch the next page in a thread while the caller commits the current one (HTTP waits
    overlap database work). At most one page is held uncommitted; the cursor still moves only
    when the caller commits, so an interruption loses nothing. Only for connectors whose
    ``pages()`` never touches the database (another thread has no tenant schema)."""
    slot: queue.Queue = queue.Queue(maxsize=1)

    def run():
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        slot.put(("page", page), timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slot.put(("done", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            slot.put(("error", exc))

    threading.Thread(target=run, name="sync-prefetch", daemon=True).start()
    while True:
        kind, value = slot.get()
        if kind == "done":
            return
        if kind == "error":
            raise value
        yield value


def _finish(*, log: SyncLog, status: str, started: float, http_wait: float, error_code: str = "",
            error: str = "") -> SyncLog:
    now = timezone.now()
    with transaction.atomic():
        SyncLog.objects.filter(pk=log.pk).update(
            status=status, finished_at=now, duration_ms=int((time.perf_counter() - started) * 1000),
            http_wait_ms=int(http_wait * 1000), error_code=error_code, error=error[:4000])
        Integration.objects.filter(pk=log.integration_id).update(
            state=Integration.State.IDLE, sync_started_at=None, last_sync_at=now, last_sync_status=status,
            last_sync_error=error[:4000], updated_at=now)
    log.refresh_from_db()
    return log


def integration_sync(*, integration_id: int, trigger: str = "manual") -> SyncLog:
    """Run one sync now, in this process. Returns its log entry: ``success``, ``partial`` (some
    records rejected) or ``error`` (the source failed; what was committed stays, and the next
    sync resumes after it). Raises Conflict when another sync is running. Error texts never
    contain a credential."""
    log = sync_claim(integration_id=integration_id, trigger=trigger)
    integration = Integration.objects.get(pk=integration_id)
    started = time.perf_counter()
    secrets: list[str] = []
    connector = None
    fetch_wait = 0.0
    stop = threading.Event()
    try:
        credentials = integration_credentials(integration=integration)
        secrets = crypto.secret_values(credentials)

        def credentials_changed(new: dict) -> None:
            secrets.extend(crypto.secret_values(new))
            integration_credentials_store(integration_id=integration_id, credentials=new)

        connector = connector_for(integration, credentials=credentials, on_credentials_change=credentials_changed)
        actor = _sync_actor(integration)
        rejected = 0
        pages = connector.pages(dict(integration.cursor or {}))
        if connector.prefetch_safe:
            pages = _prefetched(pages, stop)
        while True:
            waited = time.perf_counter()
            page = next(pages, None)  # fetching: the wall time spent here is time waiting on the source
            fetch_wait += time.perf_counter() - waited
            if page is None:
                break
            counts = sync_page_commit(connector=connector, log=log, page=page, actor=actor)
            rejected += counts["rejected"]
    except ApplicationError as exc:
        stop.set()
        message = crypto.mask(exc.message, secrets)
        logger.warning("sync %s of integration %s failed: %s", log.pk, integration_id, message)
        return _finish(log=log, status=SyncLog.Status.ERROR, started=started,
                       http_wait=fetch_wait, error_code=exc.code,
                       error=message)
    except Exception as exc:  # noqa: BLE001 - a sync must always release its claim
        stop.set()
        message = crypto.mask(f"{type(exc).__name__}: {exc}", secrets)
        logger.error("sync %s of integration %s crashed: %s", log.pk, integration_id, message)
        return _finish(log=log, status=SyncLog.Status.ERROR, started=started,
                       http_wait=fetch_wait, error_code="internal_error",
                       error=message)
    status = SyncLog.Status.PARTIAL if rejected else SyncLog.Status.SUCCESS
    return _finish(log=log, status=status, started=started, http_wait=fetch_wait)


def integration_sync_request(*, integration_id: int, actor: Actor) -> Integration:
    """Ask the worker to sync now (queue ``syncs``). Raises Conflict if one is running."""
    from integrations.tasks import integration_sync_task
    from tenants.services import audit_record

    with transaction.atomic():
        integration = Integration.objects.select_for_update().filter(pk=integration_id).first()
        if integration is None:
            raise NotFound("No such integration.")
        if not integration.is_active:
            raise ApplicationError("This integration is inactive.", code="integration_inactive")
        if integration.state == Integration.State.RUNNING:
            raise Conflict("A sync of this integration is already running.", code="sync_running")
        audit_record(actor=actor, action="integration.sync_requested", resource_type="integration",
                     resource_id=integration.pk, tenant=connection.tenant)
        transaction.on_commit(lambda: integration_sync_task.delay(integration_id=integration.pk, trigger="manual"))
    return integration


def integrations_due(*, now: datetime.datetime | None = None) -> list[int]:
    """Ids of active, idle, scheduled integrations whose frequency says they are due."""
    now = now or timezone.now()
    due = []
    for integration in Integration.objects.filter(is_active=True, state=Integration.State.IDLE).exclude(
            sync_frequency=Integration.Frequency.MANUAL):
        interval = FREQUENCY_INTERVALS[integration.sync_frequency]
        # A little slack, so a dispatcher running every 15 minutes does not skip a whole period.
        slack = datetime.timedelta(minutes=5)
        if integration.last_sync_at is None or integration.last_sync_at <= now - interval + slack:
            due.append(integration.pk)
    return due


def integrations_sync_due() -> int:
    """Enqueue a sync for each due integration of the current tenant; returns how many."""
    from integrations.tasks import integration_sync_task

    ids = integrations_due()
    for integration_id in ids:
        integration_sync_task.delay(integration_id=integration_id, trigger="schedule")
    return len(ids)
