"""Thin Celery entry points on the ``syncs`` queue: ids in, a service call, nothing else.
Tasks sent inside a tenant's context run inside its schema (tenant-schemas-celery).

Every task here calls hosts a tenant chose, so each has hard time limits, and each tenant's share
of the worker pool is bounded: one webhook drain at a time (``webhooks_drain``), at most
INTEGRATIONS_TENANT_SYNC_CONCURRENCY syncs (their leases) and INTEGRATIONS_TENANT_FETCH_CONCURRENCY
order fetches (a Redis slot); a task that finds its tenant at the limit is re-queued with a
countdown that grows with each deferral."""

from __future__ import annotations

import logging

from celery import shared_task

from cdp.context import Actor
from cdp.exceptions import Conflict, NotFound
from integrations import conf
from integrations.http import SourceError
from integrations.limits import busy_countdown, tenant_slot
from integrations.services import integration_sync, integrations_purge, integrations_sync_due, vtex_order_fetch
from integrations.services.sync import TenantSyncsBusy
from integrations.services.webhooks import webhooks_drain, webhooks_kick, webhooks_wake_due

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, max_retries=None, soft_time_limit=6 * 3600, time_limit=6 * 3600 + 300)
def integration_sync_task(self, *, integration_id: int, trigger: str = "manual", deferrals: int = 0) -> str | None:
    try:
        return integration_sync(integration_id=integration_id, trigger=trigger).status
    except TenantSyncsBusy:
        raise self.retry(countdown=busy_countdown(deferrals, base=30.0, cap=900.0),
                         kwargs={"integration_id": integration_id, "trigger": trigger, "deferrals": deferrals + 1})
    except Conflict:
        logger.info("integration %s: a sync is already running; skipped", integration_id)
        return None
    except NotFound:
        logger.info("integration %s: deleted since the sync was queued; skipped", integration_id)
        return None


@shared_task(acks_late=True, soft_time_limit=300, time_limit=360)
def integrations_sync_due_task() -> int:
    """Per tenant (enqueued by tenants_dispatch_task from beat): start the due syncs."""
    return integrations_sync_due()


@shared_task(bind=True, acks_late=True, max_retries=None, soft_time_limit=1500, time_limit=1560)
def vtex_order_fetch_task(self, *, integration_id: int, order_id: str, failures: int = 0,
                          deferrals: int = 0) -> str | None:
    kwargs = {"integration_id": integration_id, "order_id": order_id, "failures": failures, "deferrals": deferrals}
    with tenant_slot("fetches", limit=int(conf.get("INTEGRATIONS_TENANT_FETCH_CONCURRENCY")), ttl=1560) as held:
        if not held:
            raise self.retry(countdown=busy_countdown(deferrals), kwargs={**kwargs, "deferrals": deferrals + 1})
        try:
            return vtex_order_fetch(integration_id=integration_id, order_id=order_id)
        except SourceError as exc:
            if failures >= 5:
                raise
            raise self.retry(exc=exc, countdown=min(600, 30 * 2 ** failures),
                             kwargs={**kwargs, "failures": failures + 1}) from None


@shared_task(acks_late=True, soft_time_limit=300, time_limit=360)
def webhook_drain_task() -> int:
    """Per tenant: attempt its due deliveries for a while (one drain per tenant at a time)."""
    return webhooks_drain()


@shared_task(acks_late=True, soft_time_limit=50, time_limit=55)
def webhooks_wake_due_task() -> int:
    """Public schema, from beat every minute: queue the drains of tenants with retries due."""
    return webhooks_wake_due()


@shared_task(acks_late=True)
def webhook_deliver_task(*, delivery_id: int, retry: bool = True) -> None:
    """Deliveries are sent by the tenant's drain now; a message queued before that change asks
    for one."""
    webhooks_kick(force=True)


@shared_task(acks_late=True, soft_time_limit=600, time_limit=660)
def integrations_purge_task() -> int:
    """Per tenant, daily: integrations and webhook endpoints deleted more than CDP_RESTORE_DAYS
    days ago are removed for good."""
    return integrations_purge(actor=Actor.system("task:integrations_purge"))
