"""Thin Celery entry points (queue "analytics"): ids in, a service call, nothing else."""

from __future__ import annotations

from celery import shared_task
from django.db import connection

from analytics.services import analytics_nightly_run, analytics_run_execute, segments_purge
from cdp.context import Actor

NIGHTLY_LOCAL_HOUR = 2  # the dispatcher runs hourly; each tenant runs once, at 02:xx its own time


@shared_task(bind=True, acks_late=True, max_retries=3, retry_backoff=True, queue="analytics",
             soft_time_limit=3300, time_limit=3600)
def analytics_run_execute_task(self, *, job_id: int) -> None:
    """Runs in the tenant schema the message carries."""
    analytics_run_execute(job_id=job_id, tenant=connection.tenant)


@shared_task(acks_late=True, queue="analytics", soft_time_limit=3300, time_limit=3600)
def analytics_nightly_task() -> int | None:
    """Per tenant, from the hourly dispatcher: at the tenant's local 02:00 hour, analyse the day
    that just ended. Returns the job id, or None when it is not the hour or a run is in progress."""
    job = analytics_nightly_run(tenant=connection.tenant, hour=NIGHTLY_LOCAL_HOUR)
    return job.pk if job is not None else None


@shared_task(acks_late=True, queue="analytics", soft_time_limit=600, time_limit=660)
def segments_purge_task() -> int:
    """Per tenant, daily: segments deleted more than CDP_RESTORE_DAYS days ago are removed for good."""
    return segments_purge(actor=Actor.system("task:segments_purge"), tenant=connection.tenant)
