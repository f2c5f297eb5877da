"""Running a sync: claim the integration (one sync at a time), walk the connector's pages,
commit each page (raw payloads, ingest or spend rows or the count of profiles pushed, cursor,
counters) in ONE transaction, and record the outcome. The cursor only moves with a committed
page, and ingest is idempotent on (source, external order id), so a sync interrupted anywhere
resumes without losing or duplicating a record.

The claim is a lease (INTEGRATIONS_SYNC_LEASE_SECONDS) held by the sync's log entry. The sync
renews it with every page it commits, in the page's transaction, and while it waits for a page
being fetched; no second sync can claim the integration while the lease is alive, however long
the sync runs. A worker that dies stops renewing: its lease runs out, and the next sync (the
redelivered task, the schedule, or a manual one) takes over from the cursor of the last committed
page. Only the lease holder may commit a page or close the sync (the log id is a fencing token),
so a sync that lost its lease stops without writing over its successor.

A tenant runs at most INTEGRATIONS_TENANT_SYNC_CONCURRENCY syncs at once (live leases, counted
under a per-tenant advisory lock); the task of a sync that finds its tenant busy waits its turn
(``TenantSyncsBusy``), so one tenant's syncs cannot take every worker."""

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
from cdp.exceptions import ApplicationError, Conflict
from cdp.ids import get_or_not_found
from cdp.tasks import enqueue, enqueue_on_commit
from customers.services import MAX_BATCH, order_ingest
from customers.services.ingest import CREATED, REJECTED, UNCHANGED, UPDATED
from integrations import conf, crypto
from integrations.codes import AuditAction, ErrorCode
from integrations.connectors import connector_for
from integrations.models import Integration, SyncLog
from integrations.selectors import integrations_due
from integrations.services.integrations import integration_credentials, integration_credentials_store
from integrations.services.raw import ad_spend_upsert, raw_payloads_store
from tenants.services import audit_record

logger = logging.getLogger(__name__)

MAX_REJECTIONS_KEPT = 20


def sync_actor(integration: Integration) -> Actor:
    """Who writes what an integration brings in (its syncs and its inbound hooks), in the audit."""
    return Actor.system(f"sync:{integration.integration_type}:{integration.account_name}"[:255])


class TenantSyncsBusy(Conflict):
    code = ErrorCode.TENANT_SYNCS_BUSY


class SyncLeaseLost(ApplicationError):
    code = ErrorCode.SYNC_LEASE_LOST
    http_status = 409


def _lease() -> datetime.timedelta:
    return datetime.timedelta(seconds=int(conf.get("INTEGRATIONS_SYNC_LEASE_SECONDS")))


def _tenant_syncs_lock() -> None:
    """Serializes sync claims of the current tenant (until the claim's transaction ends)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{connection.schema_name}:sync_claim"])


@transaction.atomic
def sync_claim(*, integration_id: int, trigger: str) -> SyncLog:
    """Take the integration's lease and open its log entry. Raises Conflict ``sync_running``
    while another sync's lease is alive, and ``TenantSyncsBusy`` when the tenant already runs its
    limit of syncs. A lease that ran out (its worker died) is taken over: that sync's log is
    closed as interrupted, and this one resumes from the last committed page's cursor. The row
    lock makes two concurrent claims serialize."""
    integration = get_or_not_found(Integration, integration_id, "No such integration.", lock=True)
    if not integration.is_active:
        raise ApplicationError("This integration is inactive.", code=ErrorCode.INTEGRATION_INACTIVE)
    now = timezone.now()
    if integration.sync_lease_alive(now):
        raise Conflict("A sync of this integration is already running.", code=ErrorCode.SYNC_RUNNING)
    _tenant_syncs_lock()
    running = Integration.objects.filter(state=Integration.State.RUNNING, lease_expires_at__gt=now).exclude(
        pk=integration.pk).count()
    limit = int(conf.get("INTEGRATIONS_TENANT_SYNC_CONCURRENCY"))
    if running >= limit:
        raise TenantSyncsBusy(f"This tenant already runs {running} sync(s) (limit {limit}); this one waits its turn.")
    if integration.state == Integration.State.RUNNING:
        SyncLog.objects.filter(integration=integration, status=SyncLog.Status.IN_PROGRESS).update(
            status=SyncLog.Status.ERROR, error_code=ErrorCode.SYNC_INTERRUPTED, finished_at=now,
            error="The worker running this sync stopped; the next sync resumed from the last committed page.")
    log = SyncLog.objects.create(integration=integration, trigger=trigger, window=dict(integration.cursor))
    integration.state = Integration.State.RUNNING
    integration.sync_started_at = now
    integration.lease_log, integration.lease_expires_at = log, now + _lease()
    integration.last_sync_status = SyncLog.Status.IN_PROGRESS
    integration.save(update_fields=["state", "sync_started_at", "lease_log", "lease_expires_at", "last_sync_status",
                                    "updated_at"])
    return log


def sync_lease_renew(*, log: SyncLog) -> None:
    """Extend the lease the sync of ``log`` holds. Raises ``SyncLeaseLost`` when it no longer
    holds it (its lease ran out and another sync took over). Inside a page's transaction the
    updated row stays locked until the page commits, so a claim cannot slip in between."""
    renewed = Integration.objects.filter(pk=log.integration_id, lease_log_id=log.pk,
                                         state=Integration.State.RUNNING).update(
        lease_expires_at=timezone.now() + _lease())
    if not renewed:
        raise SyncLeaseLost("This sync's lease ran out and another sync took over; it stopped without "
                            "committing more.")


def _ingest_orders(*, integration: Integration, records: list[dict], actor: Actor) -> dict:
    counts = {CREATED: 0, UPDATED: 0, UNCHANGED: 0, REJECTED: 0, "rejections": []}
    for start in range(0, len(records), MAX_BATCH):
        chunk = records[start:start + MAX_BATCH]
        # lenient: a store's unreadable phone is left out, not a reason to lose the order
        result = order_ingest(records=chunk, actor=actor, tenant=connection.tenant,
                              default_source=integration.source, lenient_profile=True)
        for item in result.results:
            counts[item.status] += 1
            if item.status == REJECTED and len(counts["rejections"]) < MAX_REJECTIONS_KEPT:
                counts["rejections"].append({"external_order_id": str(chunk[item.index].get("external_order_id")),
                                             "errors": item.errors})
    return counts


def sync_page_commit(*, connector, log: SyncLog, page, actor: Actor) -> dict:
    """Store one page and advance the cursor, all or nothing."""
    integration = connector.integration
    with transaction.atomic():
        sync_lease_renew(log=log)  # the heartbeat, and the fence: only the lease holder commits
        raw_payloads_store(integration=integration, items=page.items)
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


def _prefetched(pages, stop: threading.Event, heartbeat=None, every: float = 60.0):
    """Fetch the next page in a thread while the caller commits the current one (HTTP waits
    overlap database work). At most one page is held uncommitted; the cursor still moves only
    when the caller commits, so an interruption loses nothing. While it waits for a page, the
    caller runs ``heartbeat()`` every ``every`` seconds. Only for connectors whose ``pages()``
    never touches the database (another thread has no tenant schema)."""
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
        try:
            kind, value = slot.get(timeout=every)
        except queue.Empty:
            if heartbeat is not None:
                heartbeat()
            continue
        if kind == "done":
            return
        if kind == "error":
            raise value
        yield value


def sync_finish(*, log: SyncLog, status: str, started: float, http_wait: float, error_code: str = "",
                error: str = "") -> SyncLog:
    """End the run ``log``: its status, duration and error recorded, and the integration idle
    again, but only while ``log`` still holds the lease (a sync that lost it to another leaves its
    successor's claim alone). The last step of ``sync_claim`` / ``sync_page_commit``."""
    now = timezone.now()
    with transaction.atomic():
        SyncLog.objects.filter(pk=log.pk).update(
            status=status, finished_at=now, duration_ms=int((time.perf_counter() - started) * 1000),
            http_wait_ms=int(http_wait * 1000), error_code=error_code, error=error[:4000])
        # Only while it holds the lease: a sync that lost it must not mark its successor's run idle.
        Integration.objects.filter(pk=log.integration_id, lease_log_id=log.pk).update(
            state=Integration.State.IDLE, sync_started_at=None, lease_log=None, lease_expires_at=None,
            last_sync_at=now, last_sync_status=status, last_sync_error=error[:4000], updated_at=now)
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
        actor = sync_actor(integration)
        rejected = 0
        pages = connector.pages(dict(integration.cursor or {}))
        if connector.prefetch_safe:
            every = max(1.0, _lease().total_seconds() / 4)
            pages = _prefetched(pages, stop, heartbeat=lambda: sync_lease_renew(log=log), every=every)
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
        return sync_finish(log=log, status=SyncLog.Status.ERROR, started=started,
                       http_wait=fetch_wait, error_code=exc.code,
                       error=message)
    except Exception as exc:  # noqa: BLE001 - a sync must always release its claim
        stop.set()
        message = crypto.mask(f"{type(exc).__name__}: {exc}", secrets)
        logger.error("sync %s of integration %s crashed: %s", log.pk, integration_id, message)
        return sync_finish(log=log, status=SyncLog.Status.ERROR, started=started,
                       http_wait=fetch_wait, error_code=ErrorCode.INTERNAL_ERROR,
                       error=message)
    status = SyncLog.Status.PARTIAL if rejected else SyncLog.Status.SUCCESS
    return sync_finish(log=log, status=status, started=started, http_wait=fetch_wait)


def integration_sync_request(*, integration_id: int, actor: Actor) -> Integration:
    """Ask the worker to sync now (queue ``syncs``). Raises Conflict if one is running."""
    with transaction.atomic():
        integration = get_or_not_found(Integration, integration_id, "No such integration.", lock=True)
        if not integration.is_active:
            raise ApplicationError("This integration is inactive.", code=ErrorCode.INTEGRATION_INACTIVE)
        if integration.sync_lease_alive():
            raise Conflict("A sync of this integration is already running.", code=ErrorCode.SYNC_RUNNING)
        audit_record(actor=actor, action=AuditAction.INTEGRATION_SYNC_REQUESTED, resource_type="integration",
                     resource_id=integration.pk, tenant=connection.tenant)
        enqueue_on_commit("integrations.tasks.integration_sync_task", integration_id=integration.pk, trigger="manual")
    return integration


def integrations_sync_due() -> int:
    """Enqueue a sync for each due integration of the current tenant; returns how many."""
    ids = integrations_due()
    for integration_id in ids:
        enqueue("integrations.tasks.integration_sync_task", integration_id=integration_id, trigger="schedule")
    return len(ids)
