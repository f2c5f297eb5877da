"""Thin Celery entry points on the ``syncs`` queue: ids in, a service call, nothing else.
Tasks sent inside a tenant's context run inside its schema (tenant-schemas-celery)."""

from __future__ import annotations

import logging

from celery import shared_task

from cdp.exceptions import Conflict

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, soft_time_limit=6 * 3600, time_limit=6 * 3600 + 300)
def integration_sync_task(self, *, integration_id: int, trigger: str = "manual") -> str | None:
    from integrations.services import integration_sync

    try:
        return integration_sync(integration_id=integration_id, trigger=trigger).status
    except Conflict:
        logger.info("integration %s: a sync is already running; skipped", integration_id)
        return None


@shared_task(acks_late=True)
def integrations_sync_due_task() -> int:
    """Per tenant (enqueued by tenants_dispatch_task from beat): start the due syncs."""
    from integrations.services import integrations_sync_due

    return integrations_sync_due()


@shared_task(bind=True, acks_late=True, max_retries=5, retry_backoff=True, retry_backoff_max=600)
def vtex_order_fetch_task(self, *, integration_id: int, order_id: str) -> str:
    from integrations.http import SourceError
    from integrations.services import vtex_order_fetch

    try:
        return vtex_order_fetch(integration_id=integration_id, order_id=order_id)
    except SourceError as exc:
        raise self.retry(exc=exc, countdown=min(600, 30 * 2 ** self.request.retries))


@shared_task(bind=True, acks_late=True, max_retries=None)
def webhook_deliver_task(self, *, delivery_id: int) -> None:
    """One attempt; the service says when (and whether) to try again."""
    from integrations.services import webhook_delivery_attempt

    countdown = webhook_delivery_attempt(delivery_id=delivery_id)
    if countdown is not None:
        raise self.retry(countdown=countdown)


@shared_task(acks_late=True)
def webhook_emit_task(*, event: str, payload: dict) -> int:
    from integrations.services import webhook_emit

    return len(webhook_emit(event=event, payload=payload))
