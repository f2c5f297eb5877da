"""Thin Celery entry points of the loyalty app: ids in, a service call, nothing else.

The per-tenant jobs run inside the tenant's schema (beat schedules the public dispatcher,
``tenants.tasks.tenants_dispatch_task``, which enqueues them once per active tenant; see
``cdp/schedules.py``). Services and hooks enqueue these by name (``cdp.tasks``), never by importing
this module.
"""

from __future__ import annotations

from celery import shared_task
from django.db import connection

from loyalty.services import (
    loyalty_catch_up,
    loyalty_orders_settle,
    loyalty_points_expire,
    loyalty_tiers_recompute,
    partner_settlements_refresh,
    vouchers_expire,
)
from loyalty.services.member import member_link_email


def _orders_sync(id_ranges, order_ids) -> int:
    return loyalty_orders_settle(order_ids=[*order_ids, *(i for first, last in id_ranges for i in range(first, last + 1))])


@shared_task(acks_late=True, max_retries=5, retry_backoff=True, autoretry_for=(ConnectionError,))
def loyalty_orders_sync_task(*, id_ranges: list[list[int]] = (), order_ids: list[int] = ()) -> int:
    """Earn (or give back) loyalty points for ingested orders, and record the referrals they carry,
    given as [first, last] id ranges
    (``order_ids``: messages queued by the release before id ranges; nothing sends them any more,
    and ``loyalty_catch_up`` would pick up their orders: the argument can go once no queue holds
    such a message)."""
    return _orders_sync(id_ranges, order_ids)


@shared_task(name="customers.tasks.loyalty_orders_sync_task", acks_late=True, max_retries=5, retry_backoff=True,
             autoretry_for=(ConnectionError,))
def loyalty_orders_sync_previous_name_task(*, id_ranges: list[list[int]] = (), order_ids: list[int] = ()) -> int:
    """The same task under the name it had while loyalty lived in customers, for the messages queued
    before the move (nothing sends this name any more; it can go after one release)."""
    return _orders_sync(id_ranges, order_ids)


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
def vouchers_expire_task() -> int:
    """Per tenant: vouchers past their validity become expired."""
    return vouchers_expire()


@shared_task(acks_late=True, time_limit=1800)
def partner_settlements_refresh_task() -> int:
    """Per tenant: this month's and last month's partner settlement statements."""
    return partner_settlements_refresh()


@shared_task(acks_late=True, time_limit=120, max_retries=3, retry_backoff=True, autoretry_for=(ConnectionError,))
def member_link_email_task(*, customer_id: int, scheme: str = "https", port: str | None = None) -> None:
    """E-mail a member page sign-in link to the customer (asked for on the member page)."""
    member_link_email(customer_id=customer_id, tenant=connection.tenant, scheme=scheme, port=port)
