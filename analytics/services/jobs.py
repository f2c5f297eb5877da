"""Processing jobs: start a recorded analytics run, execute its steps, one run per tenant at a time.

A run is idempotent: every step rewrites its results for the as-of date (snapshots replaced,
current rows replaced), so running the same date twice leaves the same state. The partial unique
constraint ``uniq_active_analytics_job`` lets one job per tenant schema be queued or running.
"""

from __future__ import annotations

import datetime
import logging
import time
import traceback
import zoneinfo
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils import timezone

from analytics import conf, registry
from analytics.codes import AuditAction, ErrorCode
from analytics.models import STEPS, ProcessingJob
from analytics.selectors import order_history_load
from analytics.services.churn import churn_compute, churn_step_summary
from analytics.services.clv import clv_compute, clv_step_summary
from analytics.services.metrics import cohorts_compute, kpis_compute
from analytics.services.quality import data_quality_check
from analytics.services.rfm import rfm_compute
from analytics.services.segments import segments_materialize
from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict, PermissionDenied
from cdp.ids import get_or_not_found
from cdp.tasks import enqueue_on_commit
from tenants.services import audit_record

logger = logging.getLogger(__name__)

# step -> the tenant feature switch that must be on for it to run
STEP_FEATURES = {"rfm": "rfm_analysis", "clv": "clv_prediction", "churn": "churn_detection"}
#: Steps that compute from the order history (a run reads it once and hands it to each).
HISTORY_STEPS = ("rfm", "clv", "churn", "cohorts", "kpis")


def _step_functions() -> dict[str, Callable[..., object]]:
    """Each step as ``f(tenant=, as_of=, job=, history=)``; ``history`` is the run's order history
    for the steps that compute from it (``HISTORY_STEPS``), None for the others."""
    return {
        "rfm": rfm_compute,
        "clv": lambda **kw: clv_step_summary(clv_compute(**kw)),
        "churn": lambda **kw: churn_step_summary(churn_compute(**kw)),
        "cohorts": cohorts_compute,
        "kpis": kpis_compute,
        "segments": lambda history, **kw: segments_materialize(**kw),
        "data_quality": lambda history, **kw: data_quality_check(**kw),
    }


def tenant_today(*, tenant) -> datetime.date:
    """Today in the tenant's timezone (the default as-of date)."""
    return timezone.now().astimezone(zoneinfo.ZoneInfo(tenant.setting("timezone"))).date()


def analytics_steps_resolve(*, tenant, only: list[str] | None) -> tuple[list[str], list[str]]:
    """The steps to run in order, and those skipped because the plan switched them off. Asking
    explicitly for a switched-off step is refused (403 ``feature_disabled``)."""
    if only:
        unknown = sorted(set(only) - set(STEPS))
        if unknown:
            raise ApplicationError(f"Unknown step(s): {', '.join(unknown)}. Known: {', '.join(STEPS)}.",
                                   code=ErrorCode.STEP_INVALID, fields={"only": [f"Unknown: {', '.join(unknown)}"]})
        disabled = [s for s in only if s in STEP_FEATURES and not tenant.feature_enabled(STEP_FEATURES[s])]
        if disabled:
            raise PermissionDenied(f"Your plan does not include: {', '.join(disabled)}.", code=ErrorCode.FEATURE_DISABLED)
        return [s for s in STEPS if s in only], []
    skipped = [s for s in STEPS if s in STEP_FEATURES and not tenant.feature_enabled(STEP_FEATURES[s])]
    return [s for s in STEPS if s not in skipped], skipped


def _expire_stale_jobs() -> None:
    # A worker that died mid-run leaves a "running" job that would block the tenant forever.
    limit = timezone.now() - datetime.timedelta(minutes=int(conf.get("ANALYTICS_JOB_STALE_AFTER_MINUTES")))
    ProcessingJob.objects.filter(status__in=ProcessingJob.ACTIVE, created_at__lt=limit).update(
        status=ProcessingJob.Status.FAILED, error="Abandoned: no progress within the stale limit.",
        finished_at=timezone.now(),
    )


def analytics_run_start(*, tenant, actor: Actor, as_of: datetime.date | None = None,
                        only: list[str] | None = None) -> ProcessingJob:
    """Queue a run (not executed here). Raises ``Conflict`` (``run_in_progress``) while another
    run of this tenant is queued or running."""
    steps, skipped = analytics_steps_resolve(tenant=tenant, only=only)
    as_of = as_of or tenant_today(tenant=tenant)
    if as_of > tenant_today(tenant=tenant):
        raise ApplicationError("The as-of date cannot be in the future.", code=ErrorCode.AS_OF_INVALID,
                               fields={"as_of": ["In the future."]})
    _expire_stale_jobs()
    try:
        with transaction.atomic():
            job = ProcessingJob.objects.create(as_of=as_of, steps=steps, requested_by=actor.label[:255],
                                               summary={"skipped": {s: "feature_disabled" for s in skipped}})
            audit_record(actor=actor, action=AuditAction.RUN_START, resource_type="processing_job",
                         resource_id=job.pk, tenant=tenant, changes={"as_of": as_of, "steps": steps})
    except IntegrityError:
        active = ProcessingJob.objects.filter(status__in=ProcessingJob.ACTIVE).first()
        raise Conflict("An analytics run is already queued or running for this tenant.", code=ErrorCode.RUN_IN_PROGRESS,
                       fields={"job": [str(active.pk)] if active else []}) from None
    return job


def analytics_run_execute(*, job_id: int, tenant, progress: Callable[[str], None] | None = None) -> ProcessingJob:
    """Run a queued job's steps, each in its own transaction, recording timings, row counts and
    the summary; a failing step marks the job failed with the error (earlier steps stay). A job
    that is not queued (already run, or picked twice by the broker) is returned untouched. The
    orders are read once, by the first step that needs them, and every later step computes from
    that same history (so all steps describe one moment)."""
    with transaction.atomic():
        job = get_or_not_found(ProcessingJob, job_id, "No such analytics job.", lock=True)
        if job.status != ProcessingJob.Status.QUEUED:
            return job
        job.status, job.started_at = ProcessingJob.Status.RUNNING, timezone.now()
        job.save(update_fields=["status", "started_at", "updated_at"])

    functions = _step_functions()
    summary = dict(job.summary or {})
    summary.update({"job_id": job.pk, "tenant": tenant.slug, "as_of": job.as_of.isoformat()})
    timings, counts = {}, {}
    history = None
    try:
        for index, step in enumerate(job.steps, start=1):
            if progress:
                progress(f"[{index}/{len(job.steps)}] {step}…")
            started = time.perf_counter()
            with transaction.atomic():
                if step in HISTORY_STEPS and history is None:
                    history = order_history_load(tenant=tenant, as_of=job.as_of)
                result = functions[step](tenant=tenant, as_of=job.as_of, job=job, history=history)
            timings[step] = round(time.perf_counter() - started, 4)
            counts[step] = int(result.get("rows", 0))
            summary[step] = result
            ProcessingJob.objects.filter(pk=job.pk).update(step_timings=timings, row_counts=counts)
            if progress:
                progress(f"      {step}: {counts[step]} rows in {timings[step]:.2f}s")
        job.status = ProcessingJob.Status.SUCCEEDED
    except Exception as exc:  # recorded on the job; the caller decides whether to re-raise
        job.status = ProcessingJob.Status.FAILED
        job.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"[:10000]
    job.finished_at = timezone.now()
    job.step_timings, job.row_counts = timings, counts
    summary.update({"status": job.status, "timings": timings, "rows": counts,
                    "seconds": round((job.finished_at - job.started_at).total_seconds(), 3)})
    job.summary = summary
    job.save(update_fields=["status", "error", "finished_at", "step_timings", "row_counts", "summary", "updated_at"])
    registry.publish_on_commit([("analytics.run_completed", {"job_id": job.pk, "as_of": str(job.as_of),
                                                             "status": job.status, "rows": counts})])
    return job


def analytics_run(*, tenant, actor: Actor, as_of: datetime.date | None = None, only: list[str] | None = None,
                  progress: Callable[[str], None] | None = None) -> ProcessingJob:
    """Start and execute a run synchronously (the management command and tests)."""
    job = analytics_run_start(tenant=tenant, actor=actor, as_of=as_of, only=only)
    return analytics_run_execute(job_id=job.pk, tenant=tenant, progress=progress)


def analytics_run_enqueue(*, tenant, actor: Actor, as_of: datetime.date | None = None,
                          only: list[str] | None = None) -> ProcessingJob:
    """Start a run and hand it to the analytics queue after commit (the API, portal and admin)."""
    job = analytics_run_start(tenant=tenant, actor=actor, as_of=as_of, only=only)
    enqueue_on_commit("analytics.tasks.analytics_run_execute_task", job_id=job.pk)
    return job


def analytics_nightly_run(*, tenant, hour: int) -> ProcessingJob | None:
    """The nightly run of ``tenant`` when its local time is ``hour`` o'clock: analyse the day that
    just ended. None when it is another hour, or when a run is already queued or running (that
    one goes on; tomorrow's night run follows)."""
    local = timezone.now().astimezone(zoneinfo.ZoneInfo(tenant.setting("timezone")))
    if local.hour != hour:
        return None
    try:
        return analytics_run(tenant=tenant, actor=Actor.system("beat"), as_of=local.date() - datetime.timedelta(days=1))
    except Conflict:
        logger.info("analytics nightly run skipped for %s: a run is in progress", tenant.slug)
        return None


def analytics_recompute_after_rule_change(*, tenant, actor: Actor, inline: bool) -> dict:
    """Registered with customers as a counted-sale dependent: every analytics figure counts sales,
    so a change of the rule needs a new run (executed here when ``inline``, else queued). A run
    already in progress may have read the old rule: it is left to finish and the next run (the
    nightly one at the latest) uses the new one; the answer says so."""
    try:
        job = (analytics_run if inline else analytics_run_enqueue)(tenant=tenant, actor=actor)
    except Conflict:
        return {"analytics_job": None,
                "note": "An analytics run was already in progress; the next run uses the new rule."}
    return {"analytics_job": job.pk, "status": job.status}
