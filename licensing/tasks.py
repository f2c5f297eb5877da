"""Thin Celery entry points: ids in, a service call, nothing else."""

from __future__ import annotations

from celery import shared_task

from cdp.context import Actor
from licensing.services import license_expire_due, validation_log_flush
from licensing.services.storage import storage_measure_all


@shared_task(acks_late=True)
def validation_log_flush_task() -> int:
    """Write buffered validation rows (requests also flush, at most every few seconds)."""
    return validation_log_flush()


@shared_task(acks_late=True)
def license_expire_due_task() -> int:
    """Mark licenses past their expiry as expired (validation already answers EXPIRED)."""
    return license_expire_due(actor=Actor.system("task:license_expire_due"))


@shared_task(acks_late=True, soft_time_limit=1800, time_limit=1900)
def storage_measure_task() -> int:
    """Measure every tenant's storage against its plan (daily)."""
    return storage_measure_all()
