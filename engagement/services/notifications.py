"""The notification queue: enqueue (idempotent, consent-checked), send (with retries), and the
status the providers report afterwards.

- **Once per (trigger, customer, key).** The database's unique constraint decides: a second
  enqueue of the same trigger and key for the same person returns the first row and sends
  nothing. A re-delivered event, a retried task or a double-clicked campaign cannot double-send.
- **Consent at both ends.** Enqueue checks it (a person without consent is ``suppressed`` and
  counted, never queued), and the send checks it again under the row lock: an unsubscribe that
  arrives while the message waits for its turn wins.
- **Retries.** A transient provider error (rate limit, 5xx, dropped connection) leaves the row
  queued with ``next_attempt_at`` and raises ``RetryLater``; the task asks Celery to run it again
  after that countdown (exponential backoff, or the provider's Retry-After). After
  ENGAGEMENT_MAX_ATTEMPTS attempts, or at once on a permanent error, the row is ``failed`` with
  the provider's error.
- **Guards.** The tenant's frequency cap, quiet hours and monthly quota
  (``engagement.services.guards``) are checked at send time, each with its own reason.
- A send holds the row lock (``SELECT ... FOR UPDATE SKIP LOCKED``) while it talks to the
  provider, so two workers never send one message. A worker that dies between the provider's
  answer and the commit leaves the row queued: its redelivery sends again (at least once on a
  crash, exactly once otherwise).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from cdp.exceptions import ApplicationError
from cdp.ids import get_or_not_found
from cdp.tasks import enqueue, enqueue_on_commit
from customers.models import ConsentChannel, ConsentPurpose, Customer
from customers.selectors.consent import consent_allowed_ids, consent_allows
from customers.services.consent import unsubscribe_token
from engagement import conf
from engagement.channels import OutboundMessage, PermanentError, TransientError, channel_send
from engagement.channels.email import connection_reused as email_connection_reused
from engagement.codes import SuppressionReason
from engagement.models import MessageTemplate, Notification
from engagement.rendering import placeholders, render
from engagement.selectors import engagement_settings
from engagement.services.guards import frequency_capped, person_timezone, quiet_hours_wait, quota_release, \
    quota_reserve
from engagement.sql import notifications_insert
from engagement.services.common import public_url, tenant_name
from engagement.services.tracking import tracked_text

SEND_TASK = "engagement.tasks.notification_send_task"
SEND_BATCH_TASK = "engagement.tasks.notifications_send_batch_task"
Status = Notification.Status

#: Forward order of the delivery statuses: a late "delivered" never undoes a "read".
STATUS_RANK = {Status.QUEUED: 0, Status.SENT: 1, Status.DELIVERED: 2, Status.READ: 3}


class RetryLater(Exception):
    """The send failed for now; the task should try again in ``countdown`` seconds."""

    def __init__(self, countdown: float):
        super().__init__(f"retry in {countdown:.0f}s")
        self.countdown = countdown


def address_of(customer: Customer, channel: str) -> str:
    """Where ``channel`` reaches the person: the e-mail, or the (E.164) phone for WhatsApp and SMS."""
    return (customer.email or "") if channel == "email" else (customer.phone or "")


def _initial_status(*, allowed: bool, address: str) -> tuple[str, str]:
    if not allowed:
        return Status.SUPPRESSED, SuppressionReason.NO_CONSENT
    if not address:
        return Status.SUPPRESSED, SuppressionReason.NO_ADDRESS
    return Status.QUEUED, ""


def notification_enqueue(*, customer_id: int, template_id: int, trigger: str, key: str, context: dict | None = None,
                         campaign_id: int | None = None) -> tuple[Notification, bool]:
    """Queue the message ``template_id`` for the person, once per (``trigger``, customer, ``key``).
    Returns ``(notification, created)``; an existing one is returned untouched. Without consent
    for the template's channel and purpose, or without an address, it is stored ``suppressed``."""
    template = get_or_not_found(MessageTemplate, template_id, "Template not found.")
    customer = get_or_not_found(Customer, customer_id, "Customer not found.")
    allowed = consent_allows(customer_id=customer.pk, channel=template.channel, purpose=template.purpose)
    status, error = _initial_status(allowed=allowed, address=address_of(customer, template.channel))
    with transaction.atomic():
        notification, created = Notification.objects.get_or_create(
            trigger=trigger[:100], customer_id=customer.pk, key=str(key)[:200],
            defaults={"channel": template.channel, "purpose": template.purpose, "template": template,
                      "campaign_id": campaign_id, "context": context or {}, "status": status, "error": error})
        if created and status == Status.QUEUED:
            enqueue_on_commit(SEND_TASK, notification_id=notification.pk)
    return notification, created


def notifications_enqueue_bulk(*, customer_ids: Iterable[int], template: MessageTemplate, trigger: str, key: str,
                               campaign_id: int | None = None, context: dict | None = None) -> list[int]:
    """``notification_enqueue`` for many people at once (a campaign's chunk): consent in two
    queries, addresses in one, one INSERT that skips (trigger, customer, key) already there
    (``engagement.sql``). Returns the ids of the notifications this call queued (the caller
    schedules their sends)."""
    ids = list(customer_ids)
    allowed = consent_allowed_ids(customer_ids=ids, channel=template.channel, purpose=template.purpose)
    field = "email" if template.channel == "email" else "phone"
    people, statuses, errors = [], [], []
    for customer_id, address in Customer.objects.filter(pk__in=ids).values_list("id", field).order_by("id"):
        status, error = _initial_status(allowed=customer_id in allowed, address=address or "")
        people.append(customer_id)
        statuses.append(status)
        errors.append(error)
    return notifications_insert(customer_ids=people, statuses=statuses, errors=errors, channel=template.channel,
                                purpose=template.purpose, template_id=template.pk, campaign_id=campaign_id,
                                trigger=trigger[:100], key=str(key)[:200], context=context or {},
                                queued_status=Status.QUEUED)


def _message(notification: Notification, customer: Customer, rules=None) -> OutboundMessage:
    template = notification.template
    unsubscribe = public_url("customers:unsubscribe", unsubscribe_token(
        customer_id=customer.pk, channel=notification.channel, purpose=notification.purpose))
    context = {"first_name": customer.first_name, "last_name": customer.last_name,
               "name": " ".join(part for part in (customer.first_name, customer.last_name) if part),
               "tenant_name": tenant_name(), "unsubscribe_url": unsubscribe, **(notification.context or {})}
    body = render(template.body, context) if template else ""
    if rules is not None and rules.track_clicks and notification.channel == ConsentChannel.EMAIL and \
            notification.purpose == ConsentPurpose.MARKETING:
        body = tracked_text(body, notification_id=notification.pk,
                            keep=(unsubscribe, str(context.get("confirm_url") or "")))
    subject = render(template.subject, context) if template else ""
    parameters = tuple(str(context.get(name, "") or "") for name in placeholders(template.body)) if template else ()
    return OutboundMessage(
        to=address_of(customer, notification.channel), body=body, subject=subject,
        language=template.language if template else "es",
        template_name=template.whatsapp_template if template else "", parameters=parameters,
        unsubscribe_url=unsubscribe if notification.channel == "email" else "",
        status_callback_url=public_url("engagement-hooks-twilio") if notification.channel == "sms" else "",
        reference=f"n{notification.pk}")


def _backoff(attempts: int, retry_after: float | None) -> float:
    base, cap = float(conf.get("ENGAGEMENT_RETRY_BASE")), float(conf.get("ENGAGEMENT_RETRY_MAX"))
    countdown = min(cap, base * 2 ** max(0, attempts - 1))
    return min(cap, max(countdown, retry_after or 0.0))


def notification_send(*, notification_id: int) -> str | None:
    """Send one queued notification now. Returns its status afterwards (None: nothing to do, it
    is not queued or another worker holds it). Raises ``RetryLater`` after a transient failure
    that left attempts, and while the tenant's quiet hours hold a marketing message back.

    Before the provider is called: consent, an address, the frequency cap, quiet hours and the
    monthly quota (``engagement.services.guards``), in that order; the first that refuses names
    the reason kept on the notification."""
    rules = engagement_settings()
    now = timezone.now()
    reserved = quota_reserve(rules, now=now)  # in its own short transaction: see guards
    sent = False
    try:
        status, retry_in = _send_locked(notification_id, rules=rules, now=now, quota_left=reserved is not False)
        sent = status == Status.SENT
    finally:
        if reserved and not sent:
            quota_release(now=now)
    if retry_in is not None:
        raise RetryLater(retry_in)
    return status


def _suppress(notification: Notification, reason: str) -> tuple[str, None]:
    notification.status, notification.error, notification.next_attempt_at = Status.SUPPRESSED, reason, None
    notification.save(update_fields=["status", "error", "next_attempt_at"])
    return notification.status, None


@transaction.atomic
def _send_locked(notification_id: int, *, rules, now, quota_left: bool) -> tuple[str | None, float | None]:
    notification = (Notification.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("template").filter(pk=notification_id, status=Status.QUEUED).first())
    if notification is None:
        return None, None
    customer = Customer.objects.get(pk=notification.customer_id)
    if not consent_allows(customer_id=customer.pk, channel=notification.channel, purpose=notification.purpose):
        return _suppress(notification, SuppressionReason.NO_CONSENT)
    message = _message(notification, customer, rules)
    if not message.to:
        return _suppress(notification, SuppressionReason.NO_ADDRESS)
    if notification.purpose == ConsentPurpose.MARKETING:
        if frequency_capped(rules, notification, now=now):
            return _suppress(notification, SuppressionReason.FREQUENCY_CAP)
        wait = quiet_hours_wait(rules, now=now, tz=person_timezone(customer.metadata))
        if wait is not None:  # not an attempt: it waits, with its reason, until the quiet hours end
            notification.error = SuppressionReason.QUIET_HOURS
            notification.next_attempt_at = now + datetime.timedelta(seconds=wait)
            notification.save(update_fields=["error", "next_attempt_at"])
            return notification.status, wait
    if not quota_left:
        return _suppress(notification, SuppressionReason.QUOTA_EXCEEDED)
    retry_in = None
    notification.attempts += 1
    notification.recipient, notification.subject, notification.body = message.to, message.subject[:255], message.body
    try:
        notification.provider_message_id = channel_send(notification.channel, message)[:255]
        notification.status, notification.sent_at, notification.error = Status.SENT, now, ""
        notification.next_attempt_at = None
    except PermanentError as exc:
        notification.status, notification.failed_at, notification.error = Status.FAILED, now, exc.message
    except (ApplicationError, ValueError) as exc:  # configuration refused (a bad CDP_SMTP_URL, an unsafe host)
        message_text = exc.message if isinstance(exc, ApplicationError) else str(exc)
        notification.status, notification.failed_at, notification.error = Status.FAILED, now, message_text
    except TransientError as exc:
        notification.error = exc.message
        if notification.attempts >= int(conf.get("ENGAGEMENT_MAX_ATTEMPTS")):
            notification.status, notification.failed_at = Status.FAILED, now
        else:
            retry_in = _backoff(notification.attempts, exc.retry_after)
            notification.next_attempt_at = now + datetime.timedelta(seconds=retry_in)
    notification.save()
    return notification.status, retry_in


def notification_status_update(*, channel: str, provider_message_id: str, status: str, error: str = "",
                               at: datetime.datetime | None = None) -> Notification | None:
    """Apply a provider's report (``sent``, ``delivered``, ``read``, ``failed``) to the message it
    names. Reports arrive out of order and more than once: a status never moves backwards, and
    ``failed`` after ``delivered`` is ignored. Returns the notification, None if unknown."""
    if not provider_message_id or status not in (Status.SENT, Status.DELIVERED, Status.READ, Status.FAILED):
        return None
    at = at or timezone.now()
    with transaction.atomic():
        notification = (Notification.objects.select_for_update()
                        .filter(channel=channel, provider_message_id=provider_message_id).first())
        if notification is None:
            return None
        fields = []
        if status == Status.FAILED:
            if notification.status in (Status.QUEUED, Status.SENT):
                notification.status, notification.failed_at = Status.FAILED, at
                notification.error = error or notification.error or "failed"
                fields = ["status", "failed_at", "error"]
        elif STATUS_RANK.get(notification.status, -1) < STATUS_RANK[status] or notification.status == Status.FAILED:
            notification.status = status
            fields = ["status"]
        stamp = {Status.SENT: "sent_at", Status.DELIVERED: "delivered_at", Status.READ: "read_at"}.get(status)
        if stamp and getattr(notification, stamp) is None:
            setattr(notification, stamp, at)
            fields.append(stamp)
        if status == Status.READ and notification.delivered_at is None:  # read implies delivered
            notification.delivered_at = at
            fields.append("delivered_at")
        if fields:
            notification.save(update_fields=fields)
    return notification


def notifications_schedule(notification_ids: list[int]) -> None:
    """Send these queued notifications from the worker, in chunks of ENGAGEMENT_SEND_CHUNK spaced
    so the tenant stays under ENGAGEMENT_SEND_RATE messages per second."""
    chunk = max(1, int(conf.get("ENGAGEMENT_SEND_CHUNK")))
    rate = max(0.1, float(conf.get("ENGAGEMENT_SEND_RATE")))
    for index in range(0, len(notification_ids), chunk):
        ids = notification_ids[index:index + chunk]
        countdown = index / rate
        enqueue(SEND_BATCH_TASK, options={"countdown": countdown} if countdown else None, notification_ids=ids)


def notifications_send_batch(*, notification_ids: list[int]) -> dict:
    """Send a chunk one by one; a transient failure re-schedules that one alone."""
    outcome: dict[str, int] = {}
    with email_connection_reused():  # one SMTP connection for the chunk's e-mails
        for notification_id in notification_ids:
            try:
                status = notification_send(notification_id=notification_id)
            except RetryLater as exc:
                enqueue(SEND_TASK, options={"countdown": exc.countdown}, notification_id=notification_id)
                status = "retrying"
            outcome[str(status)] = outcome.get(str(status), 0) + 1
    return outcome
