"""Thin Celery entry points of the customers app: ids in, a service call, nothing else.

The per-tenant jobs run inside the tenant's schema (beat schedules the public dispatcher,
``tenants.tasks.tenants_dispatch_task``, which enqueues them once per active tenant; see
``cdp/schedules.py``). Services enqueue these by name (``cdp.tasks``), never by importing this
module.
"""

from __future__ import annotations

from celery import shared_task
from django.db import connection

from customers.services.credit import credit_overdue_flag
from customers.services.duplicates import duplicates_recompute
from customers.services.inactivity import inactivity_policy_run
from customers.services.sales import sales_recompute_execute


@shared_task(acks_late=True, time_limit=1800)
def credit_overdue_flag_task() -> int:
    """Per tenant: flag credit usages past their due date."""
    return credit_overdue_flag()


@shared_task(acks_late=True, max_retries=3, retry_backoff=True, soft_time_limit=3000, time_limit=3600)
def duplicates_recompute_task() -> dict:
    """Per tenant: refresh the suggested duplicate pairs."""
    return duplicates_recompute()


@shared_task(acks_late=True, soft_time_limit=3300, time_limit=3600)
def sales_recompute_task(*, job_id: int) -> None:
    """Runs in the tenant schema the message carries: the recomputation after the counted-sale
    rule changed."""
    sales_recompute_execute(job_id=job_id, tenant=connection.tenant)


@shared_task(acks_late=True, soft_time_limit=3300, time_limit=3600)
def inactivity_pseudonymize_task() -> dict | None:
    """Per tenant: the inactivity policy's nightly run (a no-op unless the tenant turned it on)."""
    return inactivity_policy_run(tenant=connection.tenant)
