"""Dynamic segments: create, edit, delete, and materialize memberships."""

from __future__ import annotations

import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from analytics import registry
from analytics.codes import AuditAction, ErrorCode
from analytics.models import Segment, SegmentCount, SegmentMembership
from analytics.rules import rules_to_q
from cdp import softdelete
from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict, full_clean_or_raise
from cdp.ids import get_or_not_found
from customers.models import Customer
from tenants.services import audit_record, changes_between

FIELDS = ("name", "description", "rules", "is_active")


def segment_queryset(*, rules):
    """Customers matching ``rules`` (validated; raises ``invalid_rules``), merged ones excluded."""
    return Customer.objects.filter(rules_to_q(rules)).exclude(status=Customer.Status.MERGED)


def _segment_save(segment: Segment) -> None:
    """Validate and save; a name already taken is a 409 ``segment_exists`` (not the 400 that the
    model's unique check would give)."""
    full_clean_or_raise(segment, "Some fields are invalid.", validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            segment.save()
    except IntegrityError:
        raise Conflict("A segment with that name exists.", code=ErrorCode.SEGMENT_EXISTS,
                       fields={"name": ["Taken."]}) from None


@transaction.atomic
def segment_create(*, name: str, rules: dict, description: str = "", is_active: bool = True, actor: Actor,
                   tenant) -> Segment:
    """Validate the rules, save the segment and materialize its members right away."""
    rules_to_q(rules)
    segment = Segment(name=(name or "").strip(), description=description, rules=rules, is_active=is_active,
                      created_by=actor.label[:255])
    _segment_save(segment)
    audit_record(actor=actor, action=AuditAction.SEGMENT_CREATE, resource_type="segment", resource_id=segment.pk,
                 tenant=tenant, changes={"name": segment.name, "rules": rules})
    segment_materialize(segment=segment, as_of=timezone.localdate())
    return segment


@transaction.atomic
def segment_update(*, segment_id: int, data: dict, actor: Actor, tenant) -> Segment:
    """Change a segment's name, rules or state; members are re-materialized when rules change."""
    segment = get_or_not_found(Segment, segment_id, "No such segment.", lock=True)
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise ApplicationError("Unknown fields.", code=ErrorCode.INVALID, fields={key: ["Not editable."] for key in unknown})
    if "rules" in data:
        rules_to_q(data["rules"])
    before = {key: getattr(segment, key) for key in data}
    for key, value in data.items():
        setattr(segment, key, value)
    _segment_save(segment)
    audit_record(actor=actor, action=AuditAction.SEGMENT_UPDATE, resource_type="segment", resource_id=segment.pk,
                 tenant=tenant, changes=changes_between(before, {key: getattr(segment, key) for key in data}))
    if segment.is_active:
        segment_materialize(segment=segment, as_of=timezone.localdate())
    else:
        SegmentMembership.objects.filter(segment=segment).delete()
        segment.member_count = 0
        segment.save(update_fields=["member_count", "updated_at"])
    return segment


@transaction.atomic
def segment_delete(*, segment_id: int, actor: Actor, tenant) -> None:
    """Delete a segment: it leaves every list, the API and the runs at once, and can be restored
    for ``CDP_RESTORE_DAYS`` days (``segment_restore``) before the daily purge removes it."""
    segment = get_or_not_found(Segment, segment_id, "No such segment.", lock=True)
    audit_record(actor=actor, action=AuditAction.SEGMENT_DELETE, resource_type="segment", resource_id=segment.pk,
                 tenant=tenant, changes={"name": segment.name})
    segment.delete()


@transaction.atomic
def segment_restore(*, segment_id: int, actor: Actor, tenant) -> Segment:
    """Bring back a deleted segment still within its restore window, members recomputed; 409
    ``segment_exists`` when another segment took its name meanwhile."""
    segment = get_or_not_found(softdelete.restorable(Segment), segment_id, "No such deleted segment.", lock=True)
    if Segment.objects.filter(name=segment.name).exists():
        raise Conflict("A segment with that name exists: rename it, then restore.", code=ErrorCode.SEGMENT_EXISTS,
                       fields={"name": ["Taken."]})
    segment.undelete()
    audit_record(actor=actor, action=AuditAction.SEGMENT_RESTORE, resource_type="segment", resource_id=segment.pk,
                 tenant=tenant, changes={"name": segment.name})
    if segment.is_active:
        segment_materialize(segment=segment, as_of=timezone.localdate())
    return segment


def segments_purge(*, actor: Actor, tenant) -> int:
    """Remove for good the segments deleted more than ``CDP_RESTORE_DAYS`` days ago (the daily
    task), each with its audit entry; returns how many."""
    purged = 0
    for segment in softdelete.purge_due(Segment):
        with transaction.atomic():
            audit_record(actor=actor, action=AuditAction.SEGMENT_PURGE, resource_type="segment",
                         resource_id=segment.pk, tenant=tenant, changes={"name": segment.name})
            softdelete.hard_delete(segment)
            purged += 1
    return purged


def segment_materialize(*, segment: Segment, as_of: datetime.date) -> int:
    """Make the stored members equal the customers matching the rules now: the rules are
    evaluated once into a temporary table, then one DELETE and one INSERT … SELECT; records the
    day's count. Returns the member count."""
    members = segment_queryset(rules=segment.rules).order_by().values("id").distinct()
    sql, params = members.query.sql_with_params()
    table = SegmentMembership._meta.db_table
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS _segment_members")
        cursor.execute(f"CREATE TEMP TABLE _segment_members AS {sql}", params)
        count = cursor.rowcount
        cursor.execute("ANALYZE _segment_members")
        cursor.execute(
            f"DELETE FROM {table} s WHERE s.segment_id = %s AND NOT EXISTS "
            f"(SELECT 1 FROM _segment_members m WHERE m.id = s.customer_id) RETURNING s.customer_id",
            [segment.pk],
        )
        left = sorted(row[0] for row in cursor.fetchall())
        cursor.execute(
            f"INSERT INTO {table} (segment_id, customer_id, added_at) SELECT %s, m.id, %s FROM _segment_members m "
            f"ON CONFLICT (segment_id, customer_id) DO NOTHING RETURNING customer_id",
            [segment.pk, now],
        )
        entered = sorted(row[0] for row in cursor.fetchall())
        cursor.execute("DROP TABLE _segment_members")
    registry.publish_on_commit(
        [("segment.entered", {"segment_id": segment.pk, "segment_name": segment.name, "customer_ids": chunk})
         for chunk in registry.chunks(entered)]
        + [("segment.left", {"segment_id": segment.pk, "segment_name": segment.name, "customer_ids": chunk})
           for chunk in registry.chunks(left)]
    )
    SegmentCount.objects.update_or_create(segment=segment, date=as_of, defaults={"members": count})
    Segment.objects.filter(pk=segment.pk).update(member_count=count, materialized_at=now)
    segment.member_count, segment.materialized_at = count, now
    return count


def segments_materialize(*, tenant, as_of: datetime.date, job=None) -> dict:
    """The run step: re-materialize every active segment."""
    counts = {}
    for segment in Segment.objects.filter(is_active=True).order_by("id"):
        counts[segment.name] = segment_materialize(segment=segment, as_of=as_of)
    return {"rows": sum(counts.values()), "segments": counts}
