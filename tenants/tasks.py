"""Thin Celery entry points: ids in, a service call, nothing else."""

from __future__ import annotations

import datetime

from celery import shared_task
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from tenants.models import AuditLog
from tenants.selectors import tenant_list_active
from tenants.services.system_events import system_events_prune


@shared_task(acks_late=True)
def tenants_dispatch_task(*, task_name: str, kwargs: dict | None = None) -> int:
    """Public-schema fan-out: enqueue ``task_name`` once per active tenant, inside its schema."""
    from cdp.celery import app

    task = app.tasks[task_name]
    count = 0
    for tenant in tenant_list_active():
        task.apply_async(kwargs=kwargs or {}, headers={"_schema_name": tenant.schema_name})
        count += 1
    return count


@shared_task(acks_late=True)
def sessions_prune_task() -> int:
    """Delete expired sessions from the shared schema."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted


@shared_task(acks_late=True)
def audit_retention_prune_task() -> int:
    """Runs in a tenant's schema: drop its audit entries older than its retention setting."""
    tenant = connection.tenant
    days = int(tenant.setting("data_retention_days"))
    cutoff = timezone.now() - datetime.timedelta(days=days)
    deleted, _ = AuditLog.objects.filter(tenant=tenant, created_at__lt=cutoff).delete()
    return deleted


@shared_task(acks_late=True)
def user_sessions_cleanup_task() -> dict:
    """Public schema: mark ended sessions expired and prune old session rows."""
    from tenants.services import user_sessions_cleanup

    return user_sessions_cleanup()


@shared_task(acks_late=True)
def system_events_prune_task() -> int:
    """Public schema: delete system events older than CDP_SYSTEM_EVENT_RETENTION_DAYS."""
    return system_events_prune()
