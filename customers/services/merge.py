"""Merging two customer records of one person, and undoing it.

The customer named in the URL is the **survivor**; ``merged`` is folded into it:

- orders, identities, addresses (the survivor's defaults win; the merged ones are demoted) and the
  merged customer's change log move to the survivor;
- credit accounts follow their own rules, written beside their ledgers
  (``customers.services.credit.credit_accounts_merge``; a merge with outstanding credit on both
  sides is refused, 409 ``merge_credit_conflict``); other apps move what they keep about the
  merged customer through their merge handlers (``customers.registry.register_merge_handler``:
  loyalty moves its account or ledger), each snapshot kept under the handler's name;
- the survivor's empty profile fields are filled from the merged profile (change-logged); email
  and document move (they are unique), other values are copied;
- aggregates are recomputed from the orders; the merged customer becomes ``status=merged``,
  ``merged_into=survivor`` (ingest follows that link, so new orders reach the survivor).

``CustomerMerge.snapshot`` records the ids of every row moved and every value changed, so
``merge_undo`` puts them back. Personal values needed by the undo live under
``snapshot["personal"]`` only, which pseudonymization wipes (such a merge can no longer be undone).
"""


from __future__ import annotations

from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict, NotFound
from cdp.ids import get_or_not_found, parse_id
from customers.codes import AuditAction, ErrorCode
from customers.documents import SEALED_FIELDS, document_columns, seal, unseal
from customers.models import (
    Address,
    Customer,
    CustomerChangeLog,
    CustomerAttributeValue,
    CustomerIdentity,
    CustomerMerge,
    DuplicateCandidate,
    Order,
)
from customers.registry import merge_handlers, publish_on_commit
from customers.services.common import as_text, empty, from_text
from customers.services.credit import credit_accounts_merge, credit_accounts_merge_undo
from customers.services.sales import customer_aggregates_refresh
from tenants.services import audit_record

MERGE_SOURCE = "merge"
#: Profile fields filled on the survivor when empty there (document_type/number move as a pair).
#: Columns derived from the document (written beside it, never logged nor copied on their own).
DERIVED_DOCUMENT_FIELDS = ("document_hash", "document_valid")
FILL_FIELDS = ("email", "phone", "first_name", "last_name", "birth_date", "gender", "city", "state", "country")


class MergeError(ApplicationError):
    code = ErrorCode.MERGE_INVALID
    http_status = 400


class MergeConflict(Conflict):
    code = ErrorCode.MERGE_CONFLICT


def _lock(*ids: int) -> dict[int, Customer]:
    """Lock in id order (two merges touching the same pair cannot deadlock)."""
    return {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=ids).order_by("pk")}


def _merge_parties(survivor_id, merged_id) -> tuple[Customer, Customer]:
    """The two customers, locked, after checking that they may be merged."""
    survivor_pk, merged_pk = parse_id(survivor_id), parse_id(merged_id)
    if survivor_pk is not None and survivor_pk == merged_pk:
        raise MergeError("A customer cannot be merged into itself.", code=ErrorCode.MERGE_SELF,
                         fields={"merged_id": ["Must differ from the survivor."]})
    locked = _lock(*(pk for pk in (survivor_pk, merged_pk) if pk is not None))
    survivor, merged = locked.get(survivor_pk), locked.get(merged_pk)
    if survivor is None:
        raise NotFound("Customer not found.")
    if merged is None:
        raise NotFound("The customer to merge was not found.", fields={"merged_id": ["Not found."]})
    for customer, role in ((survivor, "survivor"), (merged, "merged customer")):
        if customer.status == Customer.Status.MERGED:
            raise MergeConflict(f"The {role} was already merged into customer {customer.merged_into_id}.",
                                code=ErrorCode.CUSTOMER_MERGED)
        if customer.is_pseudonymized:
            raise MergeConflict(f"The {role} was pseudonymized and cannot take part in a merge.",
                                code=ErrorCode.CUSTOMER_PSEUDONYMIZED)
    return survivor, merged


@dataclass
class ProfileFill:
    """What the merge changes on the two profiles: the survivor's empty fields it fills, the
    unique identifiers that leave the merged profile, the survivor's new field sources, the
    personal values the undo needs and the change-log rows."""

    survivor_updates: dict = field(default_factory=dict)
    merged_updates: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)
    personal: dict = field(default_factory=lambda: {"filled": {}, "merged_moved": {}})
    logs: list = field(default_factory=list)


def _profile_fill(survivor: Customer, merged: Customer, *, label: str) -> ProfileFill:
    """Fill the survivor's empty fields from the merged profile; email and document move (they are
    unique), other values are copied."""
    fill = ProfileFill(sources=dict(survivor.field_sources or {}))
    merged_sources = merged.field_sources or {}
    for name in FILL_FIELDS:
        if empty(getattr(survivor, name)) and not empty(getattr(merged, name)):
            fill.survivor_updates[name] = getattr(merged, name)
    if empty(survivor.document_number) and not empty(merged.document_number):
        fill.survivor_updates["document_type"] = merged.document_type
        fill.survivor_updates["document_number"] = merged.document_number
    if "email" in fill.survivor_updates:
        fill.merged_updates["email"] = None
    if "document_number" in fill.survivor_updates:
        fill.merged_updates["document_number"] = None
        fill.merged_updates["document_type"] = ""
    for name, value in fill.survivor_updates.items():
        old = as_text(getattr(survivor, name))
        # The undo's copy of a document stays sealed in the snapshot, as in the profile.
        fill.personal["filled"][name] = {"old": _sealed(name, old), "new": _sealed(name, as_text(value)),
                                         "old_source": fill.sources.get(name)}
        fill.logs.append(CustomerChangeLog(customer=survivor, field=name, old_value=old, new_value=as_text(value),
                                           source=MERGE_SOURCE, changed_by=label,
                                           reason=f"filled from merged customer {merged.pk}"[:255]))
        fill.sources[name] = merged_sources.get(name, merged.source or MERGE_SOURCE)
    for name in fill.merged_updates:
        fill.personal["merged_moved"][name] = _sealed(name, as_text(getattr(merged, name)))
    if "document_number" in fill.survivor_updates:
        fill.survivor_updates.update(document_columns(merged.document_type, merged.document_number, merged.country))
        fill.merged_updates.update(document_columns("", None))
    return fill


def _fields(updates: dict) -> list[str]:
    """The profile fields among ``updates`` (without the document's derived columns)."""
    return sorted(name for name in updates if name not in DERIVED_DOCUMENT_FIELDS)


def _sealed(name: str, value):
    return seal(value) if name in SEALED_FIELDS else value


def _rows_snapshot(survivor: Customer, merged: Customer, fill: ProfileFill) -> dict:
    """The ids of every row the merge moves, and what the undo needs to put the profiles back."""
    survivor_default_types = set(Address.objects.filter(customer=survivor, is_default=True)
                                 .values_list("address_type", flat=True))
    addresses = list(Address.objects.filter(customer=merged).values_list("pk", "address_type", "is_default"))
    return {
        "version": 1,
        "survivor_status": survivor.status,
        "merged_status": merged.status,
        "orders": list(Order.objects.filter(customer=merged).values_list("pk", flat=True)),
        "identities": list(CustomerIdentity.objects.filter(customer=merged).values_list("pk", flat=True)),
        "addresses": [pk for pk, _, _ in addresses],
        "addresses_demoted": [pk for pk, kind, is_default in addresses
                              if is_default and kind in survivor_default_types],
        "change_logs": list(CustomerChangeLog.objects.filter(customer=merged).values_list("pk", flat=True)),
        # Custom attribute values the survivor lacks (where both hold one, the survivor's stays).
        "attributes": list(CustomerAttributeValue.objects.filter(customer=merged).exclude(
            definition_id__in=CustomerAttributeValue.objects.filter(customer=survivor).values("definition_id"))
            .values_list("pk", flat=True)),
        "survivor_field_sources": survivor.field_sources or {},
        "credit": None,
        "personal": fill.personal,
    }


def _profiles_write(survivor: Customer, merged: Customer, fill: ProfileFill, *, now) -> None:
    try:
        with transaction.atomic():
            # Unique identifiers leave the merged row before they reach the survivor.
            if fill.merged_updates:
                Customer.objects.filter(pk=merged.pk).update(**fill.merged_updates)
            if fill.survivor_updates:
                Customer.objects.filter(pk=survivor.pk).update(**fill.survivor_updates, field_sources=fill.sources,
                                                               updated_at=now)
    except IntegrityError as exc:  # pragma: no cover - guarded by the uniqueness of the source row
        raise MergeConflict("The merged customer's identifiers clash with another customer.",
                            code=ErrorCode.MERGE_IDENTIFIER_CONFLICT) from exc


def _rows_move(snapshot: dict, *, to: Customer) -> None:
    """Orders, identities, addresses (demoted ones first) and change log of the snapshot to ``to``."""
    Order.objects.filter(pk__in=snapshot["orders"]).update(customer=to)
    CustomerIdentity.objects.filter(pk__in=snapshot["identities"]).update(customer=to)
    Address.objects.filter(pk__in=snapshot["addresses_demoted"]).update(is_default=False)
    Address.objects.filter(pk__in=snapshot["addresses"]).update(customer=to)
    CustomerChangeLog.objects.filter(pk__in=snapshot["change_logs"]).update(customer=to)
    CustomerAttributeValue.objects.filter(pk__in=snapshot.get("attributes", [])).update(customer=to)


def _suggestions_settle(survivor: Customer, merged: Customer, *, label: str, now) -> None:
    """The suggestion that led here (if any) is settled; others naming the merged record are stale."""
    pair = sorted((survivor.pk, merged.pk))
    DuplicateCandidate.objects.filter(customer_a_id=pair[0], customer_b_id=pair[1]).update(
        status=DuplicateCandidate.Status.MERGED, reviewed_by=label, reviewed_at=now, updated_at=now)
    DuplicateCandidate.objects.filter(Q(customer_a=merged) | Q(customer_b=merged),
                                      status=DuplicateCandidate.Status.PENDING).delete()


@transaction.atomic
def customer_merge(*, survivor_id: int, merged_id: int, actor: Actor, reason: str = "") -> CustomerMerge:
    """Fold ``merged`` into ``survivor`` (see the module docstring) and return the merge record.

    Errors: NotFound; MergeError ``merge_self`` (400); MergeConflict (409) ``customer_merged`` when
    either side is already merged away, ``customer_pseudonymized`` when either side was
    pseudonymized, ``merge_credit_conflict``."""
    survivor, merged = _merge_parties(survivor_id, merged_id)
    now = timezone.now()
    label = actor.label[:255]
    fill = _profile_fill(survivor, merged, label=label)
    snapshot = _rows_snapshot(survivor, merged, fill)
    _profiles_write(survivor, merged, fill, now=now)
    snapshot["credit"] = credit_accounts_merge(survivor_id=survivor.pk, merged_id=merged.pk)
    for name, handler in merge_handlers():
        snapshot[name] = handler.merge(survivor_id=survivor.pk, merged_id=merged.pk)
    _rows_move(snapshot, to=survivor)
    Customer.objects.filter(pk=merged.pk).update(status=Customer.Status.MERGED, merged_into=survivor,
                                                 updated_at=now)
    customer_aggregates_refresh(customer_ids=[survivor.pk, merged.pk])

    created_logs = CustomerChangeLog.objects.bulk_create([
        *fill.logs,
        CustomerChangeLog(customer=survivor, field="merge", old_value=None, new_value=str(merged.pk),
                          source=MERGE_SOURCE, changed_by=label,
                          reason=(reason or f"merge of customer {merged.pk} into {survivor.pk}")[:255]),
        CustomerChangeLog(customer=merged, field="status", old_value=merged.status,
                          new_value=Customer.Status.MERGED, source=MERGE_SOURCE, changed_by=label,
                          reason=f"merged into customer {survivor.pk}"),
    ])
    snapshot["merge_logs"] = [log.pk for log in created_logs]
    merge = CustomerMerge.objects.create(survivor=survivor, merged=merged, snapshot=snapshot,
                                         reason=reason[:255], merged_by=label)
    _suggestions_settle(survivor, merged, label=label, now=now)
    audit_record(actor=actor, action=AuditAction.CUSTOMER_MERGE, resource_type="customer", resource_id=survivor.pk,
                 tenant=connection.tenant,
                 changes={"merge_id": merge.pk, "survivor_id": survivor.pk, "merged_id": merged.pk,
                          "orders": len(snapshot["orders"]), "identities": len(snapshot["identities"]),
                          "addresses": len(snapshot["addresses"]), "change_logs": len(snapshot["change_logs"]),
                          "fields_filled": _fields(fill.survivor_updates),
                          "credit": (snapshot["credit"] or {}).get("mode"),
                          **{name: (snapshot.get(name) or {}).get("mode") for name, _ in merge_handlers()}})
    publish_on_commit([
        ("customer.merged", {"customer_id": survivor.pk, "merged_ids": [merged.pk], "merge_id": merge.pk}),
        ("customer.updated", {"customer_id": survivor.pk, "fields": ["merge", *_fields(fill.survivor_updates)]}),
        ("customer.updated", {"customer_id": merged.pk, "fields": ["status", "merged_into"]}),
    ])
    return merge


# --- undo -----------------------------------------------------------------------------------------

def _undo_parties(merge_id) -> tuple[CustomerMerge, Customer, Customer]:
    """The merge and its two customers, locked, after checking that it may be undone."""
    merge = get_or_not_found(CustomerMerge, merge_id, "Merge not found.", lock=True)
    if merge.undone_at is not None:
        raise MergeConflict("This merge was already undone.", code=ErrorCode.MERGE_ALREADY_UNDONE)
    snapshot = merge.snapshot or {}
    if snapshot.get("pseudonymized") or snapshot.get("personal") is None:
        raise MergeConflict("A customer of this merge was pseudonymized; it cannot be undone.",
                            code=ErrorCode.CUSTOMER_PSEUDONYMIZED)
    locked = _lock(merge.survivor_id, merge.merged_id)
    survivor, merged = locked[merge.survivor_id], locked[merge.merged_id]
    if survivor.status == Customer.Status.MERGED:
        raise MergeConflict(f"The survivor was merged into customer {survivor.merged_into_id} since; undo that "
                            "merge first.", code=ErrorCode.MERGE_UNDO_BLOCKED)
    if survivor.is_pseudonymized or merged.is_pseudonymized:
        raise MergeConflict("A customer of this merge was pseudonymized; it cannot be undone.",
                            code=ErrorCode.CUSTOMER_PSEUDONYMIZED)
    return merge, survivor, merged


def _rows_move_back(snapshot: dict, *, to: Customer) -> None:
    Order.objects.filter(pk__in=snapshot["orders"]).update(customer=to)
    CustomerIdentity.objects.filter(pk__in=snapshot["identities"]).update(customer=to)
    Address.objects.filter(pk__in=snapshot["addresses"]).update(customer=to)
    Address.objects.filter(pk__in=snapshot["addresses_demoted"]).update(is_default=True)
    CustomerChangeLog.objects.filter(pk__in=snapshot["change_logs"]).update(customer=to)
    CustomerAttributeValue.objects.filter(pk__in=snapshot.get("attributes", [])).update(customer=to)


def _survivor_restore(merge: CustomerMerge, survivor: Customer, *, label: str, now) -> tuple[dict, list]:
    """The survivor's filled fields go back to empty unless someone changed them since (then the
    newer value stays). Returns the fields restored and their change-log rows."""
    filled = merge.snapshot["personal"]["filled"]
    sources = dict(survivor.field_sources or {})
    updates: dict = {}
    logs: list[CustomerChangeLog] = []
    for name, change in filled.items():
        if name in DERIVED_DOCUMENT_FIELDS:
            continue
        if as_text(getattr(survivor, name)) != unseal(change["new"]):
            continue
        updates[name] = from_text(Customer, name, unseal(change["old"]))
        if change.get("old_source") is None:
            sources.pop(name, None)
        else:
            sources[name] = change["old_source"]
        logs.append(CustomerChangeLog(customer=survivor, field=name, old_value=unseal(change["new"]),
                                      new_value=unseal(change["old"]), source=MERGE_SOURCE, changed_by=label,
                                      reason=f"undo of merge {merge.pk}"))
    if "document_number" in filled and "document_number" not in updates:
        updates.pop("document_type", None)
    if "document_number" in updates:
        updates.update(document_columns(updates.get("document_type", survivor.document_type),
                                        updates["document_number"], survivor.country))
    if updates:
        Customer.objects.filter(pk=survivor.pk).update(**updates, field_sources=sources, updated_at=now)
    return updates, logs


def _merged_restore(merge: CustomerMerge, merged: Customer, survivor_updates: dict, *, now) -> dict:
    """The merged customer's status and the identifiers it gave the survivor, when they left the
    survivor again (or never reached it): uniqueness holds. Returns the values written."""
    snapshot = merge.snapshot
    updates = {"status": snapshot.get("merged_status") or Customer.Status.ACTIVE, "merged_into": None,
               "updated_at": now}
    for name, value in snapshot["personal"]["merged_moved"].items():
        if name in ("email", "document_number") and name not in survivor_updates:
            continue
        if name == "document_type" and "document_number" not in survivor_updates:
            continue
        updates[name] = unseal(value) if name != "document_type" else (value or "")
    if "document_number" in updates:
        updates.update(document_columns(updates.get("document_type", ""), updates["document_number"], merged.country))
    Customer.objects.filter(pk=merged.pk).update(**updates)
    return updates


@transaction.atomic
def merge_undo(*, merge_id: int, actor: Actor) -> CustomerMerge:
    """Put back everything the merge moved or changed and recompute both customers' aggregates.

    Survivor fields the merge filled are cleared again unless someone changed them since (then the
    newer value stays). Errors: NotFound; Conflict ``merge_already_undone``,
    ``customer_pseudonymized`` (the snapshot was wiped), ``merge_undo_blocked`` (the survivor was
    itself merged away since: undo that merge first), ``merge_undo_diverged`` (moved points spent)."""
    merge, survivor, merged = _undo_parties(merge_id)
    snapshot = merge.snapshot
    now = timezone.now()
    label = actor.label[:255]

    _rows_move_back(snapshot, to=merged)
    for name, handler in merge_handlers():
        handler.undo(snapshot=snapshot.get(name), merged_id=merged.pk)
    credit_accounts_merge_undo(snapshot=snapshot.get("credit"), merged_id=merged.pk)
    survivor_updates, logs = _survivor_restore(merge, survivor, label=label, now=now)
    merged_updates = _merged_restore(merge, merged, survivor_updates, now=now)
    customer_aggregates_refresh(customer_ids=[survivor.pk, merged.pk])

    CustomerChangeLog.objects.bulk_create([
        *logs,
        CustomerChangeLog(customer=survivor, field="merge", old_value=str(merged.pk), new_value=None,
                          source=MERGE_SOURCE, changed_by=label, reason=f"undo of merge {merge.pk}"),
        CustomerChangeLog(customer=merged, field="status", old_value=Customer.Status.MERGED,
                          new_value=merged_updates["status"], source=MERGE_SOURCE, changed_by=label,
                          reason=f"undo of merge {merge.pk}"),
    ])
    CustomerMerge.objects.filter(pk=merge.pk).update(undone_at=now, undone_by=label)
    pair = sorted((survivor.pk, merged.pk))
    DuplicateCandidate.objects.filter(customer_a_id=pair[0], customer_b_id=pair[1],
                                      status=DuplicateCandidate.Status.MERGED).update(
        status=DuplicateCandidate.Status.PENDING, reviewed_by="", reviewed_at=None, updated_at=now)
    audit_record(actor=actor, action=AuditAction.CUSTOMER_MERGE_UNDO, resource_type="customer",
                 resource_id=survivor.pk, tenant=connection.tenant,
                 changes={"merge_id": merge.pk, "survivor_id": survivor.pk, "merged_id": merged.pk,
                          "fields_restored": _fields(survivor_updates)})
    publish_on_commit([
        ("customer.updated", {"customer_id": survivor.pk, "fields": ["merge_undo", *_fields(survivor_updates)]}),
        ("customer.updated", {"customer_id": merged.pk, "fields": ["status", "merged_into"]}),
    ])
    merge.refresh_from_db()
    return merge
