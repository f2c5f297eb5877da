"""Thin Celery entry points: ids in, a service call, nothing else."""

from __future__ import annotations

from celery import shared_task
from django.db import connection

from cdp.tasks import enqueue
from tenants.selectors import tenant_list_active
from tenants.services import audit_retention_prune, django_sessions_prune, user_sessions_cleanup
from tenants.services.system_events import system_events_prune


@shared_task(acks_late=True)
def tenants_dispatch_task(*, task_name: str, kwargs: dict | None = None) -> int:
    """Public-schema fan-out: enqueue ``task_name`` once per active tenant, inside its schema."""
    count = 0
    for tenant in tenant_list_active():
        enqueue(task_name, options={"headers": {"_schema_name": tenant.schema_name}}, **(kwargs or {}))
        count += 1
    return count


@shared_task(acks_late=True)
def sessions_prune_task() -> int:
    """Delete expired sessions from the shared schema."""
    return django_sessions_prune()


@shared_task(acks_late=True)
def audit_retention_prune_task() -> int:
    """Runs in a tenant's schema: drop its audit entries older than its retention setting."""
    return audit_retention_prune(tenant=connection.tenant)


@shared_task(acks_late=True)
def user_sessions_cleanup_task() -> dict:
    """Public schema: mark ended sessions expired and prune old session rows."""
    return user_sessions_cleanup()


@shared_task(acks_late=True)
def system_events_prune_task() -> int:
    """Public schema: delete system events older than CDP_SYSTEM_EVENT_RETENTION_DAYS."""
    return system_events_prune()
