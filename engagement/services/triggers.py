"""Triggers: events on the bus (customers' and analytics') become notifications through the
tenant's ``TriggerRule`` rows.

The bus handlers (wired in ``engagement.apps``) run after the publisher's commit and only queue a
task when a rule wants the event; the task calls ``trigger_fire``. Each rule's notifications use
the trigger ``rule:<id>`` and a key that names the occasion, so the same event delivered twice
sends once:

- ``customer.created`` → key ``welcome`` (once per person, ever);
- ``segment.entered`` → key ``segment:<id>:<date>`` (once per entry day);
- ``churn.band_changed`` where the band got worse (active < at_risk < churning < churned) → key
  ``churn:<new band>:<date>``;
- ``customer.birthday`` is not a bus event: a daily task (``cdp.schedules``) looks for today's
  birthdays in the tenant's time zone → key ``birthday:<year>``.
"""

from __future__ import annotations

import calendar
import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cdp.context import Actor
from cdp.exceptions import ApplicationError
from cdp.ids import get_or_not_found
from cdp.tasks import enqueue
from engagement.codes import AuditAction
from customers.models import Customer
from customers.selectors.consent import UNREACHABLE
from engagement.models import MessageTemplate, TriggerRule
from engagement.selectors import tenant_timezone
from engagement.services.common import audit
from engagement.services.notifications import notifications_enqueue_bulk, notifications_schedule

FIRE_TASK = "engagement.tasks.trigger_fire_task"
#: A bulk import publishes one customer.created per person: tasks carry at most this many.
PAYLOADS_PER_TASK = 500
CHURN_ORDER = ("active", "at_risk", "churning", "churned")


def _worsened(old, new) -> bool:
    return old in CHURN_ORDER and new in CHURN_ORDER and CHURN_ORDER.index(new) > CHURN_ORDER.index(old)


def trigger_wanted(event: str) -> bool:
    """Whether any active rule listens to ``event`` (one indexed query; the bus handlers ask it)."""
    return TriggerRule.objects.filter(event=event, is_active=True).exists()


def trigger_event_enqueue(*, event: str, payloads: list[dict]) -> None:
    """From a bus handler: hand the event's payloads to the worker if a rule wants them."""
    if payloads and trigger_wanted(event):
        for index in range(0, len(payloads), PAYLOADS_PER_TASK):
            enqueue(FIRE_TASK, event=event, payloads=payloads[index:index + PAYLOADS_PER_TASK])


def _occasions(event: str, payload: dict, rule: TriggerRule, today: str) -> list[tuple[list[int], str]]:
    """``[(customer_ids, key)]`` this payload means for ``rule``."""
    if event == TriggerRule.Event.CUSTOMER_CREATED:
        return [([int(payload["customer_id"])], "welcome")]
    if event == TriggerRule.Event.SEGMENT_ENTERED:
        if int(payload.get("segment_id") or 0) != rule.segment_id:
            return []
        return [([int(pk) for pk in payload.get("customer_ids") or []], f"segment:{rule.segment_id}:{today}")]
    if event == TriggerRule.Event.CHURN_WORSENED:
        by_band: dict[str, list[int]] = {}
        for change in payload.get("changes") or []:
            if _worsened(change.get("old"), change.get("new")):
                by_band.setdefault(change["new"], []).append(int(change["customer_id"]))
        return [(ids, f"churn:{band}:{today}") for band, ids in by_band.items()]
    return []


def trigger_fire(*, event: str, payloads: list[dict]) -> int:
    """Queue the notifications every active rule of ``event`` asks for; returns how many were queued."""
    today = timezone.localdate().isoformat()
    queued = 0
    for rule in TriggerRule.objects.filter(event=event, is_active=True).select_related("template"):
        for payload in payloads:
            for customer_ids, key in _occasions(event, payload, rule, today):
                with transaction.atomic():
                    ids = notifications_enqueue_bulk(customer_ids=customer_ids, template=rule.template,
                                                     trigger=f"rule:{rule.pk}", key=key)
                notifications_schedule(ids)
                queued += len(ids)
    return queued


def birthday_triggers_fire(*, today: datetime.date | None = None) -> int:
    """The daily birthday rules: people whose birthday is ``today`` (the tenant's date; 29 February
    birthdays on 28 February in other years), once per person and year (key ``birthday:<year>``).
    Returns how many notifications were queued."""
    today = today or timezone.now().astimezone(tenant_timezone()).date()
    rules = list(TriggerRule.objects.filter(event=TriggerRule.Event.BIRTHDAY, is_active=True)
                 .select_related("template"))
    if not rules:
        return 0
    born = Q(birth_date__month=today.month, birth_date__day=today.day)
    if (today.month, today.day) == (2, 28) and not calendar.isleap(today.year):
        born |= Q(birth_date__month=2, birth_date__day=29)
    people = list(Customer.objects.filter(born, is_pseudonymized=False).exclude(status__in=UNREACHABLE)
              .values_list("id", flat=True).order_by("id"))
    queued = 0
    for rule in rules:
        for index in range(0, len(people), PAYLOADS_PER_TASK):
            with transaction.atomic():
                ids = notifications_enqueue_bulk(customer_ids=people[index:index + PAYLOADS_PER_TASK],
                                                 template=rule.template, trigger=f"rule:{rule.pk}",
                                                 key=f"birthday:{today.year}")
            notifications_schedule(ids)
            queued += len(ids)
    return queued


@transaction.atomic
def trigger_rule_create(*, event: str, template_id, actor: Actor, segment_id: int | None = None) -> TriggerRule:
    if event not in TriggerRule.Event.values:
        raise ApplicationError("Unknown event.", fields={"event": [f"One of {', '.join(TriggerRule.Event.values)}."]})
    if event == TriggerRule.Event.SEGMENT_ENTERED and not segment_id:
        raise ApplicationError("Which segment?", fields={"segment": ["segment.entered needs a segment."]})
    template = get_or_not_found(MessageTemplate, template_id, "Template not found.")
    rule = TriggerRule.objects.create(event=event, template=template, segment_id=segment_id, created_by=actor.label)
    audit(actor=actor, action=AuditAction.TRIGGER_RULE_CREATE, resource_type="trigger_rule", resource_id=rule.pk,
          changes={"event": [None, event], "template_id": [None, template.pk], "segment_id": [None, segment_id]})
    return rule
