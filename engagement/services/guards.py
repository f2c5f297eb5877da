"""The tenant's sending guards (``EngagementSettings``), checked at send time under the message's
row lock, each leaving its reason on the notification (``SuppressionReason``):

- **Frequency cap** (marketing only): at most N marketing messages to one person on one channel
  within the window; one more is ``suppressed`` with ``frequency_cap``. Sends to the same person
  and channel take a transaction-level advisory lock, so two workers cannot both pass the cap.
- **Quiet hours** (marketing only): during them a message is not dropped but waits: it stays
  ``queued`` with ``quiet_hours`` as its reason and ``next_attempt_at`` at the end of the quiet
  hours, in the person's time zone (``metadata.timezone`` when it names a real zone) or else the
  tenant's (``settings.timezone``). Transactional messages (a receipt, an opt-in confirmation)
  are never held or capped.
- **Monthly quota** (every message): messages handed to a provider per calendar month in the
  tenant's time zone. A message past it is ``suppressed`` with ``quota_exceeded``. The meter is
  one row per month bumped by a conditional ``UPDATE ... WHERE sent < quota`` in its own short
  transaction before the send, and given back when the message is not sent after all, so
  concurrent workers never pass the quota and never wait on each other while a provider answers.
  (The licensing plans have no message limit to borrow: the quota is the tenant's setting.)
"""

from __future__ import annotations

import datetime
import zoneinfo

from django.db import connection, transaction
from django.db.models import F

from customers.models import ConsentPurpose
from engagement.models import EngagementSettings, Notification, SendCounter
from engagement.selectors import tenant_timezone


def person_timezone(metadata: dict | None) -> zoneinfo.ZoneInfo:
    name = (metadata or {}).get("timezone") if isinstance(metadata, dict) else None
    if isinstance(name, str) and name:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    return tenant_timezone()


def quiet_hours_wait(rules: EngagementSettings, *, now: datetime.datetime, tz: zoneinfo.ZoneInfo) -> float | None:
    """Seconds until the quiet hours end when ``now`` falls in them (in ``tz``); None otherwise.
    A window that crosses midnight (22:00-08:00) is understood as such."""
    start, end = rules.quiet_hours_start, rules.quiet_hours_end
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(tz)
    moment = local.time().replace(tzinfo=None)
    inside = start <= moment < end if start < end else (moment >= start or moment < end)
    if not inside:
        return None
    until = datetime.datetime.combine(local.date(), end, tzinfo=tz)
    if until <= local:
        until += datetime.timedelta(days=1)
    return max(1.0, (until - local).total_seconds())


def frequency_capped(rules: EngagementSettings, notification: Notification, *, now: datetime.datetime) -> bool:
    """Whether one more marketing message to this person on this channel would pass the cap.
    Takes the (person, channel) advisory lock until the caller's transaction ends."""
    if rules.frequency_cap is None or notification.purpose != ConsentPurpose.MARKETING:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                       [f"engagement.frequency:{connection.schema_name}:{notification.customer_id}:"
                        f"{notification.channel}"])
    since = now - datetime.timedelta(hours=rules.frequency_window_hours)
    recent = (Notification.objects.filter(customer_id=notification.customer_id, channel=notification.channel,
                                          purpose=ConsentPurpose.MARKETING, sent_at__gte=since)
              .exclude(pk=notification.pk).count())
    return recent >= rules.frequency_cap


def _period(now: datetime.datetime) -> datetime.date:
    return now.astimezone(tenant_timezone()).date().replace(day=1)


def quota_reserve(rules: EngagementSettings, *, now: datetime.datetime) -> bool | None:
    """Take one message from this month's quota. None: no quota; True: taken; False: used up."""
    if rules.monthly_send_quota is None:
        return None
    period = _period(now)
    with transaction.atomic():
        SendCounter.objects.get_or_create(period_start=period)
        taken = SendCounter.objects.filter(period_start=period, sent__lt=rules.monthly_send_quota) \
            .update(sent=F("sent") + 1)
    return taken == 1


def quota_release(*, now: datetime.datetime) -> None:
    """Give back a message taken by ``quota_reserve`` that was not sent after all."""
    with transaction.atomic():
        SendCounter.objects.filter(period_start=_period(now), sent__gt=0).update(sent=F("sent") - 1)


def quota_used(*, now: datetime.datetime) -> int:
    """Messages sent this month (what the portal and admin show beside the quota)."""
    return SendCounter.objects.filter(period_start=_period(now)).values_list("sent", flat=True).first() or 0
