"""The counted-sale rule's writes: the customer aggregates it defines (one SQL statement that both
ingest paths, merges and the recomputation run), changing the rule, and the recorded
recomputation of everything computed from it.

Why one statement: the record path (``order_ingest``), the bulk loader and the recomputation
used to restate "not cancelled or refunded" each in its own SQL; now they all run
``customer_aggregates_write`` with the tenant's statuses as a parameter.
"""

from __future__ import annotations

import datetime
import logging
import time
import traceback
from collections.abc import Callable

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict
from cdp.ids import get_or_not_found
from cdp.tasks import enqueue_on_commit
from customers import registry
from customers.codes import AuditAction, ErrorCode
from customers.models import CountedSaleRule, Customer, Order, SalesRecomputeJob
from customers.selectors.sales import counted_statuses
from customers.services.locks import ingest_lock_exclusive
from tenants.services import audit_record, changes_between

logger = logging.getLogger(__name__)

#: Customers per transaction when the recomputation rewrites every customer's aggregates.
RECOMPUTE_CHUNK = 50_000
#: A queued or running recomputation older than this is taken for dead (its worker was lost).
STALE_AFTER = datetime.timedelta(hours=3)
STEP_AGGREGATES = "aggregates"

_AGGREGATES_SQL = f"""
UPDATE {Customer._meta.db_table} c
   SET total_orders = a.n, total_spent = a.spent,
       avg_order_value = CASE WHEN a.n > 0 THEN round(a.spent / a.n, 2) ELSE 0 END,
       first_purchase_at = a.first_at, last_purchase_at = a.last_at, updated_at = now()
  FROM (SELECT t.id, count(o.id) AS n, coalesce(sum(o.total_amount), 0) AS spent,
               min(o.order_date) AS first_at, max(o.order_date) AS last_at
          FROM ({{ids}}) AS t(id)
          LEFT JOIN {Order._meta.db_table} o ON o.customer_id = t.id AND o.status = ANY(%(counted)s)
         GROUP BY t.id) a
 WHERE c.id = a.id
   AND (c.total_orders, c.total_spent, c.first_purchase_at, c.last_purchase_at)
       IS DISTINCT FROM (a.n, a.spent, a.first_at, a.last_at)
"""


def customer_aggregates_write(cursor, *, ids_sql: str, params: dict | None = None,
                              statuses: tuple[str, ...] | None = None) -> int:
    """Recompute first/last purchase, order count, total spent and average order value of the
    customers ``ids_sql`` selects (a query of one id column; its parameters in ``params``) from
    their counted orders. Only rows whose figures change are written; returns how many."""
    cursor.execute(_AGGREGATES_SQL.format(ids=ids_sql),
                   {**(params or {}), "counted": list(statuses or counted_statuses())})
    return cursor.rowcount


def customer_aggregates_refresh(*, customer_ids) -> None:
    """The aggregates of ``customer_ids`` from their counted orders. The customers are locked
    first so that a concurrent batch recomputes after this one commits, from a fresh snapshot:
    totals stay exact."""
    ids = sorted({int(pk) for pk in customer_ids})
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {Customer._meta.db_table} WHERE id = ANY(%s) ORDER BY id FOR UPDATE", [ids])
        customer_aggregates_write(cursor, ids_sql="SELECT unnest(%(ids)s::bigint[])", params={"ids": ids})


# --- changing the rule ----------------------------------------------------------------------------

def _clean_statuses(statuses) -> list[str]:
    if isinstance(statuses, str) or not isinstance(statuses, (list, tuple, set)):
        raise ApplicationError("Give the statuses as a list.", code=ErrorCode.COUNTED_STATUSES_INVALID,
                               fields={"statuses": ["Must be a list of order statuses."]})
    given = {str(status).strip().lower() for status in statuses if str(status).strip()}
    unknown = sorted(given - set(Order.Status.values))
    if unknown:
        raise ApplicationError(f"Unknown order status: {', '.join(unknown)}.", code=ErrorCode.COUNTED_STATUSES_INVALID,
                               fields={"statuses": [f"Choose among: {', '.join(Order.Status.values)}."]})
    cleaned = [status for status in Order.Status.values if status in given]
    void = [status for status in cleaned if status in Order.VOID_STATUSES]
    if void:
        raise ApplicationError(f"A {' or '.join(void)} order is never a sale.", code=ErrorCode.COUNTED_STATUSES_INVALID,
                               fields={"statuses": [f"{', '.join(void)} cannot count as a sale."]})
    if not cleaned:
        raise ApplicationError("At least one status must count as a sale.", code=ErrorCode.COUNTED_STATUSES_INVALID,
                               fields={"statuses": ["Choose at least one status."]})
    return cleaned


def _expire_stale_jobs() -> None:
    SalesRecomputeJob.objects.filter(status__in=SalesRecomputeJob.ACTIVE,
                                     created_at__lt=timezone.now() - STALE_AFTER).update(
        status=SalesRecomputeJob.Status.FAILED, error="Abandoned: no progress within the stale limit.",
        finished_at=timezone.now())


def counted_statuses_set(*, statuses, actor: Actor, tenant, enqueue: bool = True) -> SalesRecomputeJob | None:
    """Change which order statuses count as a sale, and queue the recorded recomputation of
    everything computed from it (returned; None when the statuses did not change; with
    ``enqueue=False`` the caller runs ``sales_recompute_execute`` itself). Refused with
    400 ``invalid_counted_statuses`` (unknown, void or no statuses) and 409
    ``recompute_in_progress`` while a recomputation is queued or running.

    The rule is written under the tenant's ingest lock held exclusively: a record batch or bulk
    load reads the statuses under the same lock (shared), so none of them mixes the two rules."""
    cleaned = _clean_statuses(statuses)
    _expire_stale_jobs()
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                ingest_lock_exclusive(cursor)
            before = list(counted_statuses())
            if set(before) == set(cleaned):
                return None
            job = SalesRecomputeJob.objects.create(
                statuses_before=before, statuses_after=cleaned, requested_by=actor.label[:255],
                steps=[STEP_AGGREGATES, *(name for name, _ in registry.counted_sale_dependents())])
            rule, _ = CountedSaleRule.objects.get_or_create(key="sales")
            rule.statuses, rule.changed_by = cleaned, actor.label[:255]
            rule.save()
            audit_record(actor=actor, action=AuditAction.SALES_COUNTED_STATUSES_SET, resource_type="counted_sale_rule",
                         resource_id=rule.pk, tenant=tenant,
                         changes={**changes_between({"statuses": before}, {"statuses": cleaned}),
                                  "recompute_job": job.pk})
            if enqueue:
                enqueue_on_commit("customers.tasks.sales_recompute_task", job_id=job.pk)
    except IntegrityError:
        active = SalesRecomputeJob.objects.filter(status__in=SalesRecomputeJob.ACTIVE).first()
        raise Conflict("A recomputation after the last change of the rule is still running; change it again when "
                       "it has finished.", code=ErrorCode.RECOMPUTE_IN_PROGRESS,
                       fields={"job": [str(active.pk)] if active else []}) from None
    return job


# --- the recomputation ----------------------------------------------------------------------------

def _save_progress(job: SalesRecomputeJob, **fields) -> None:
    for key, value in fields.items():
        setattr(job, key, value)
    SalesRecomputeJob.objects.filter(pk=job.pk).update(**fields, updated_at=timezone.now())


def _aggregates_step(job: SalesRecomputeJob, say: Callable[[str], None]) -> dict:
    """Every customer's aggregates under the new rule, a range of ids per transaction."""
    statuses = tuple(job.statuses_after)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(min(id), 0), coalesce(max(id), -1), count(*) FROM {Customer._meta.db_table}")
        low, high, total = cursor.fetchone()
    done = changed = 0
    start = low
    while start <= high:
        end = start + RECOMPUTE_CHUNK - 1
        with transaction.atomic(), connection.cursor() as cursor:
            changed += customer_aggregates_write(
                cursor, ids_sql=f"SELECT id FROM {Customer._meta.db_table} WHERE id BETWEEN %(low)s AND %(high)s",
                params={"low": start, "high": end}, statuses=statuses)
            done += Customer.objects.filter(id__gte=start, id__lte=end).count()
        progress = {**job.progress, STEP_AGGREGATES: {"done": done, "total": total, "changed": changed}}
        _save_progress(job, progress=progress)
        say(f"      aggregates: {done:,}/{total:,} customers ({changed:,} changed)")
        start = end + 1
    return {"done": done, "total": total, "changed": changed}


def sales_recompute_execute(*, job_id: int, tenant, progress: Callable[[str], None] | None = None,
                            inline: bool = False) -> SalesRecomputeJob:
    """Run a queued recomputation: the customer aggregates (in chunks, progress recorded after
    each), then the registered dependents in their order (loyalty: points earned for orders that
    became sales, given back for those that no longer are; analytics: a new run, queued, or
    finished before returning when ``inline``). A failing step marks the job failed with the error; a job that
    is not queued is returned untouched."""
    say = progress or (lambda message: None)
    with transaction.atomic():
        job = get_or_not_found(SalesRecomputeJob, job_id, "No such recomputation.", lock=True)
        if job.status != SalesRecomputeJob.Status.QUEUED:
            return job
        _save_progress(job, status=SalesRecomputeJob.Status.RUNNING, started_at=timezone.now())
    actor = Actor.system(f"sales-recompute:{job.pk}")
    dependents = dict(registry.counted_sale_dependents())
    try:
        for index, step in enumerate(job.steps, start=1):
            say(f"[{index}/{len(job.steps)}] {step}…")
            _save_progress(job, current_step=step)
            started = time.perf_counter()
            if step == STEP_AGGREGATES:
                result = _aggregates_step(job, say)
            elif step in dependents:
                result = dependents[step](tenant=tenant, actor=actor, inline=inline,
                                          statuses_before=job.statuses_before, statuses_after=job.statuses_after)
            else:
                result = {"skipped": "nothing registered under this name any more"}
            result = {**(result or {}), "seconds": round(time.perf_counter() - started, 3)}
            _save_progress(job, progress={**job.progress, step: result})
            say(f"      {step}: {result}")
        status, error = SalesRecomputeJob.Status.SUCCEEDED, ""
    except Exception as exc:  # recorded on the job, like an analytics run
        logger.exception("sales recompute %s failed", job.pk)
        status, error = SalesRecomputeJob.Status.FAILED, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
    _save_progress(job, status=status, error=error[:10000], current_step="", finished_at=timezone.now())
    return job
