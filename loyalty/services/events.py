"""Community events (seed ``events``, ``event_registrations``): staff publish them; members
register and cancel; checking in grants points.

Every registration change locks the event row first, so seats are counted one change at a time:
registrations never exceed the capacity, and a cancelled seat goes to the first of the waitlist
(by ``queued_at``). Registering twice answers with the existing registration.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict, full_clean_or_raise
from cdp.ids import get_or_not_found
from customers.services.common import audit, customer_current
from loyalty.codes import AuditAction, ErrorCode
from loyalty.models import Event, EventRegistration
from loyalty.services.points import loyalty_points_bonus
from tenants.services import changes_between

EVENT_FIELDS = ("title", "description", "partner_id", "starts_at", "ends_at", "location", "capacity", "status",
                "checkin_points", "reminder_hours")
Reg = EventRegistration.Status


class EventError(ApplicationError):
    code = ErrorCode.EVENT_INVALID


def _clean(event: Event) -> None:
    if event.ends_at is not None and event.starts_at is not None and event.ends_at <= event.starts_at:
        raise EventError("An event ends after it starts.", fields={"ends_at": ["Must be after starts_at."]})
    full_clean_or_raise(event, "Check the highlighted fields.", error=EventError)


@transaction.atomic
def event_create(*, actor: Actor, values: dict) -> Event:
    """A new event (draft unless ``status`` says published)."""
    unknown = set(values) - set(EVENT_FIELDS)
    if unknown:
        raise EventError(f"Unknown event fields: {', '.join(sorted(unknown))}.")
    event = Event(**values)
    _clean(event)
    event.save()
    audit(actor=actor, action=AuditAction.EVENT_CREATE, resource_type="loyalty_event", resource_id=event.pk,
          changes=changes_between({}, {key: str(getattr(event, key)) for key in EVENT_FIELDS}))
    return event


@transaction.atomic
def event_update(*, event_id, actor: Actor, values: dict) -> Event:
    """Change an event. The capacity may not go below the seats taken."""
    event = get_or_not_found(Event, event_id, "Event not found.", lock=True)
    unknown = set(values) - set(EVENT_FIELDS)
    if unknown:
        raise EventError(f"Unknown event fields: {', '.join(sorted(unknown))}.")
    before = {key: str(getattr(event, key)) for key in values}
    for key, value in values.items():
        setattr(event, key, value)
    _clean(event)
    taken = event.registrations.filter(status__in=[Reg.REGISTERED, Reg.ATTENDED]).count()
    if event.capacity < taken:
        raise EventError(f"{taken} seats are taken; the capacity cannot go below that.",
                         fields={"capacity": [f"At least {taken}."]})
    event.save()
    audit(actor=actor, action=AuditAction.EVENT_UPDATE, resource_type="loyalty_event", resource_id=event.pk,
          changes=changes_between(before, {key: str(getattr(event, key)) for key in values}))
    return event


def _open_event(event_id, *, partner_id: int | None) -> Event:
    events = Event.objects.all() if partner_id is None else Event.objects.filter(partner_id=partner_id)
    event = get_or_not_found(events, event_id, "Event not found.", lock=True)
    if event.status != Event.Status.PUBLISHED:
        raise Conflict("This event is not open.", code=ErrorCode.EVENT_CLOSED)
    return event


def _seats_taken(event: Event) -> int:
    return event.registrations.filter(status__in=[Reg.REGISTERED, Reg.ATTENDED]).count()


@transaction.atomic
def event_register(*, event_id, customer_id, actor: Actor, partner_id: int | None = None) -> EventRegistration:
    """Register a member: a seat while there is one, else the waitlist. 409 ``event_closed`` for an
    event not published or already started."""
    event = _open_event(event_id, partner_id=partner_id)
    now = timezone.now()
    if event.starts_at <= now:
        raise Conflict("This event has started.", code=ErrorCode.EVENT_CLOSED)
    customer = customer_current(customer_id)
    registration = EventRegistration.objects.filter(event=event, customer=customer).first()
    if registration is not None and registration.status != Reg.CANCELLED:
        return registration
    status = Reg.REGISTERED if _seats_taken(event) < event.capacity else Reg.WAITLISTED
    if registration is None:
        registration = EventRegistration.objects.create(event=event, customer=customer, status=status, queued_at=now)
    else:
        registration.status, registration.queued_at, registration.reminded_at = status, now, None
        registration.save()
    audit(actor=actor, action=AuditAction.EVENT_REGISTER, resource_type="loyalty_event", resource_id=event.pk,
          changes={"customer_id": customer.pk, "status": status})
    return registration


@transaction.atomic
def event_registration_cancel(*, event_id, customer_id, actor: Actor,
                              partner_id: int | None = None) -> EventRegistration:
    """Cancel a member's registration; a freed seat goes to the first of the waitlist."""
    events = Event.objects.all() if partner_id is None else Event.objects.filter(partner_id=partner_id)
    event = get_or_not_found(events, event_id, "Event not found.", lock=True)
    registration = EventRegistration.objects.filter(event=event, customer_id=customer_id).first()
    if registration is None or registration.status == Reg.CANCELLED:
        raise Conflict("This customer is not registered.", code=ErrorCode.EVENT_NOT_REGISTERED)
    if registration.status == Reg.ATTENDED:
        raise Conflict("This customer attended already.", code=ErrorCode.EVENT_NOT_REGISTERED)
    freed = registration.status == Reg.REGISTERED
    registration.status = Reg.CANCELLED
    registration.save()
    promoted = None
    if freed and event.status == Event.Status.PUBLISHED and _seats_taken(event) < event.capacity:
        promoted = (EventRegistration.objects.select_for_update().filter(event=event, status=Reg.WAITLISTED)
                    .order_by("queued_at", "id").first())
        if promoted is not None:
            promoted.status = Reg.REGISTERED
            promoted.save()
    audit(actor=actor, action=AuditAction.EVENT_CANCEL, resource_type="loyalty_event", resource_id=event.pk,
          changes={"customer_id": registration.customer_id,
                   "promoted_customer_id": promoted.customer_id if promoted else None})
    return registration


@transaction.atomic
def event_check_in(*, event_id, customer_id, actor: Actor, partner_id: int | None = None) -> EventRegistration:
    """A registered member arrived: attended, and the event's ``checkin_points`` as a bonus (once)."""
    events = Event.objects.all() if partner_id is None else Event.objects.filter(partner_id=partner_id)
    event = get_or_not_found(events, event_id, "Event not found.", lock=True)
    registration = EventRegistration.objects.filter(event=event, customer_id=customer_id).first()
    if registration is not None and registration.status == Reg.ATTENDED:
        return registration
    if registration is None or registration.status != Reg.REGISTERED:
        raise Conflict("Only a registered member checks in.", code=ErrorCode.EVENT_NOT_REGISTERED)
    registration.status = Reg.ATTENDED
    registration.checked_in_at = timezone.now()
    if event.checkin_points:
        registration.points_entry = loyalty_points_bonus(
            customer_id=registration.customer_id, points=event.checkin_points, actor=actor,
            reason=f"Attended: {event.title}"[:255], reference=f"event:{event.pk}")
    registration.save()
    audit(actor=actor, action=AuditAction.EVENT_CHECK_IN, resource_type="loyalty_event", resource_id=event.pk,
          changes={"customer_id": registration.customer_id, "points": event.checkin_points})
    return registration
