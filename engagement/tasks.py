"""Thin Celery entry points of the engagement app: ids in, a service call, nothing else.
Sent inside a tenant's context, they run in its schema (tenant-schemas-celery)."""

from __future__ import annotations

from celery import shared_task

from engagement.channels.base import ChannelError, PermanentError
from engagement.services.audiences import audience_members_push, audience_sync
from engagement.services.campaigns import campaign_fan_out
from engagement.services.notifications import RetryLater, notification_send, notifications_send_batch
from engagement.services.triggers import birthday_triggers_fire, trigger_fire


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


@shared_task(bind=True, acks_late=True, max_retries=5, soft_time_limit=900, time_limit=960)
def audience_members_task(self, *, destination_id: int, customer_ids: list[int], remove: bool = False) -> dict:
    # A permanent refusal (bad token, unknown list) stays in last_error: retrying cannot fix it.
    try:
        return audience_members_push(destination_id=destination_id, customer_ids=customer_ids, remove=remove)
    except PermanentError:
        return {"rows": 0, "received": 0, "invalid": 0, "failed": True}
    except ChannelError as exc:
        countdown = max(exc.retry_after or 0, min(3600, 60 * 2 ** self.request.retries))
        raise self.retry(countdown=countdown, exc=exc) from None


@shared_task(acks_late=True, soft_time_limit=1800, time_limit=1860)
def audience_sync_task(*, destination_id: int) -> dict:
    return audience_sync(destination_id=destination_id)


@shared_task(acks_late=True, soft_time_limit=1800, time_limit=1860)
def birthday_triggers_task() -> int:
    return birthday_triggers_fire()
