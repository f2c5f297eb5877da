"""Thin Celery entry points of the operations jobs (found by ``app.autodiscover_tasks(["cdp.ops"])`` in
cdp/celery.py; cdp/tasks.py is the kit's enqueue-by-name)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from cdp.ops.retention import retention_apply_public, retention_apply_tenant


@shared_task(name="cdp.ops.tasks.retention_public_task", acks_late=True)
def retention_public_task() -> dict:
    """Public schema: partitions ahead, expired months dropped."""
    return retention_apply_public()


@shared_task(name="cdp.ops.tasks.retention_tenant_task", acks_late=True)
def retention_tenant_task() -> dict:
    """Runs in a tenant's schema (sent by tenants_dispatch_task)."""
    return retention_apply_tenant(tenant=connection.tenant)


@shared_task(name="cdp.ops.tasks.backup_task", acks_late=False, time_limit=6 * 3600)
def backup_task() -> str:
    """The daily backup into CDP_BACKUP_DIR (nothing when unset). Not acks_late: a backup cut short
    by a dying worker is simply taken again the next day rather than twice in a row."""
    if not settings.CDP_BACKUP_DIR:
        return "CDP_BACKUP_DIR is not set"
    call_command("backup", output=settings.CDP_BACKUP_DIR)
    return "ok"
