"""Thin Celery entry points of the engagement app: ids in, a service call, nothing else.
Sent inside a tenant's context, they run in its schema (tenant-schemas-celery)."""

from __future__ import annotations

from celery import shared_task

from engagement.services.campaigns import campaign_fan_out
from engagement.services.notifications import RetryLater, notification_send, notifications_send_batch
from engagement.services.triggers import trigger_fire


@shared_task(bind=True, acks_late=True, max_retries=None, soft_time_limit=120, time_limit=150)
def notification_send_task(self, *, notification_id: int) -> str | None:
    # The attempt count lives on the row (ENGAGEMENT_MAX_ATTEMPTS), so Celery's own is unbounded.
    try:
        return notification_send(notification_id=notification_id)
    except RetryLater as exc:
        raise self.retry(countdown=exc.countdown) from None


@shared_task(acks_late=True, soft_time_limit=900, time_limit=960)
def notifications_send_batch_task(*, notification_ids: list[int]) -> dict:
    return notifications_send_batch(notification_ids=notification_ids)


@shared_task(acks_late=True, soft_time_limit=1800, time_limit=1860)
def campaign_fan_out_task(*, campaign_id: int) -> dict:
    return campaign_fan_out(campaign_id=campaign_id)


@shared_task(acks_late=True, soft_time_limit=900, time_limit=960)
def trigger_fire_task(*, event: str, payloads: list[dict]) -> int:
    return trigger_fire(event=event, payloads=payloads)
