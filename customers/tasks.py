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
from customers.services.loyalty import (
    loyalty_catch_up,
    loyalty_orders_sync,
    loyalty_points_expire,
    loyalty_tiers_recompute,
)
from customers.services.sales import sales_recompute_execute


@shared_task(acks_late=True, max_retries=5, retry_backoff=True, autoretry_for=(ConnectionError,))
def loyalty_orders_sync_task(*, id_ranges: list[list[int]] = (), order_ids: list[int] = ()) -> int:
    """Earn (or give back) loyalty points for ingested orders, given as [first, last] id ranges
    (``order_ids``: messages queued by the release before id ranges; nothing sends them any more,
    and ``loyalty_catch_up`` would pick up their orders: the argument can go once no queue holds
    such a message)."""
    return loyalty_orders_sync(order_ids=[*order_ids, *(i for first, last in id_ranges for i in range(first, last + 1))])


@shared_task(acks_late=True, time_limit=3600)
def loyalty_catch_up_task() -> int:
    """Per tenant: earn for the recent orders whose ingest event never reached a loyalty task."""
    return loyalty_catch_up()


@shared_task(acks_late=True, time_limit=3600)
def loyalty_points_expire_task() -> int:
    """Per tenant: expire the points that are due."""
    return loyalty_points_expire()


@shared_task(acks_late=True, time_limit=3600)
def loyalty_tiers_recompute_task() -> int:
    """Per tenant: re-evaluate tiers from rolling spend or points."""
    return loyalty_tiers_recompute()


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
