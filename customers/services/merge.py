"""Merging two customer records of one person, and undoing it.

The customer named in the URL is the **survivor**; ``merged`` is folded into it:

- orders, identities, addresses (the survivor's defaults win; the merged ones are demoted) and the
  merged customer's change log move to the survivor;
- loyalty: when only the merged customer has an account, the account moves; when both do, the
  ledger moves and the survivor's counters become the sums (balance = the ledger's sum), the tier
  the higher of the two; the merged account is left at zero;
- credit: when only the merged customer has an account, it moves. When both do, the merged one
  stays where it is as history if it has nothing outstanding; with outstanding usage the merge is
  refused (409 ``merge_credit_conflict``): limits are a staff decision per account, so staff settle
  or close one first rather than have us invent a combined limit;
- the survivor's empty profile fields are filled from the merged profile (change-logged); email
  and document move (they are unique), other values are copied;
- aggregates are recomputed from the orders; the merged customer becomes ``status=merged``,
  ``merged_into=survivor`` (ingest follows that link, so new orders reach the survivor).

``CustomerMerge.snapshot`` records the ids of every row moved and every value changed, so
``merge_undo`` puts them back. Personal values needed by the undo live under
``snapshot["personal"]`` only, which pseudonymization wipes (such a merge can no longer be undone).
"""

from __future__ import annotations

import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict, NotFound
from customers.models import (
    Address,
    CreditAccount,
    Customer,
    CustomerChangeLog,
    CustomerIdentity,
    CustomerMerge,
    DuplicateCandidate,
    LoyaltyAccount,
    LoyaltyTransaction,
    Order,
    Tier,
)
from customers.registry import publish_on_commit
from customers.services.profile import customer_aggregates_refresh

MERGE_SOURCE = "merge"
#: Profile fields filled on the survivor when empty there (document_type/number move as a pair).
FILL_FIELDS = ("email", "phone", "first_name", "last_name", "birth_date", "gender", "city", "state", "country")
#: Loyalty counters that add up on a merge.
LOYALTY_COUNTERS = ("lifetime_points", "points_redeemed", "points_expired", "rolling_points", "rolling_spend")
TIER_RANK = {tier: rank for rank, tier in enumerate(Tier.values)}


class MergeError(ApplicationError):
    code = "merge_invalid"
    http_status = 400


class MergeConflict(Conflict):
    code = "merge_conflict"


def _empty(value) -> bool:
    return value is None or value == ""


def _text(value):
    if value is None:
        return None
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value)


def _decode(field: str, value):
    if value is None:
        return None
    if field == "birth_date":
        return datetime.date.fromisoformat(value)
    return value


def _lock(*ids: int) -> dict[int, Customer]:
    """Lock in id order (two merges touching the same pair cannot deadlock)."""
    found = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    return found


def _account_counters(account: LoyaltyAccount) -> dict:
    return {"points_balance": account.points_balance, "tier": account.tier,
            "tier_since": _text(account.tier_since),
            **{key: str(getattr(account, key)) for key in LOYALTY_COUNTERS}}


def _ledger_sum(account_id: int) -> int:
    return LoyaltyTransaction.objects.filter(account_id=account_id).aggregate(s=Sum("points"))["s"] or 0


def _loyalty_merge(*, survivor: Customer, merged: Customer) -> dict | None:
    source = LoyaltyAccount.objects.select_for_update().filter(customer=merged).first()
    if source is None:
        return None
    target = LoyaltyAccount.objects.select_for_update().filter(customer=survivor).first()
    if target is None:
        LoyaltyAccount.objects.filter(pk=source.pk).update(customer=survivor)
        return {"mode": "account", "account_id": source.pk}
    txns = list(LoyaltyTransaction.objects.filter(account=source).values_list("pk", "remaining"))
    snapshot = {"mode": "ledger", "from_account_id": source.pk, "to_account_id": target.pk,
                "transactions": {str(pk): remaining for pk, remaining in txns},
                "from_before": _account_counters(source), "to_before": _account_counters(target)}
    LoyaltyTransaction.objects.filter(pk__in=[pk for pk, _ in txns]).update(account=target)
    updates = {key: getattr(target, key) + getattr(source, key) for key in LOYALTY_COUNTERS}
    if TIER_RANK.get(source.tier, 0) > TIER_RANK.get(target.tier, 0):
        updates.update(tier=source.tier, tier_since=source.tier_since)
    LoyaltyAccount.objects.filter(pk=target.pk).update(points_balance=_ledger_sum(target.pk),
                                                       updated_at=timezone.now(), **updates)
    LoyaltyAccount.objects.filter(pk=source.pk).update(
        points_balance=0, updated_at=timezone.now(),
        **{key: 0 for key in LOYALTY_COUNTERS})
    return snapshot


def _credit_merge(*, survivor: Customer, merged: Customer) -> dict | None:
    source = CreditAccount.objects.select_for_update().filter(customer=merged).first()
    if source is None:
        return None
    if not CreditAccount.objects.filter(customer=survivor).exists():
        CreditAccount.objects.filter(pk=source.pk).update(customer=survivor)
        return {"mode": "account", "account_id": source.pk}
    if source.credit_used > 0 or source.usages.filter(status__in=["open", "overdue"]).exists():
        raise MergeConflict("Both customers have credit accounts and the merged one has outstanding usage; "
                            "settle or close one of them first.", code="merge_credit_conflict")
    return {"mode": "kept", "account_id": source.pk}


@transaction.atomic
def customer_merge(*, survivor_id: int, merged_id: int, actor: Actor, reason: str = "") -> CustomerMerge:
    """Fold ``merged`` into ``survivor`` (see the module docstring) and return the merge record.

    Errors: NotFound; MergeError ``merge_self`` (400); MergeConflict (409) ``customer_merged`` when
    either side is already merged away, ``customer_pseudonymized`` when either side was
    pseudonymized, ``merge_credit_conflict``."""
    from tenants.services import audit_record

    if int(survivor_id) == int(merged_id):
        raise MergeError("A customer cannot be merged into itself.", code="merge_self",
                         fields={"merged_id": ["Must differ from the survivor."]})
    locked = _lock(int(survivor_id), int(merged_id))
    survivor, merged = locked.get(int(survivor_id)), locked.get(int(merged_id))
    if survivor is None:
        raise NotFound("Customer not found.")
    if merged is None:
        raise NotFound("The customer to merge was not found.", fields={"merged_id": ["Not found."]})
    for customer, role in ((survivor, "survivor"), (merged, "merged customer")):
        if customer.status == Customer.Status.MERGED:
            raise MergeConflict(f"The {role} was already merged into customer {customer.merged_into_id}.",
                                code="customer_merged")
        if customer.is_pseudonymized:
            raise MergeConflict(f"The {role} was pseudonymized and cannot take part in a merge.",
                                code="customer_pseudonymized")

    now = timezone.now()
    label = actor.label[:255]
    why = f"merge of customer {merged.pk} into {survivor.pk}"

    # 1. Profile: fill the survivor's empty fields; unique identifiers move.
    personal: dict = {"filled": {}, "merged_moved": {}}
    logs: list[CustomerChangeLog] = []
    sources = dict(survivor.field_sources or {})
    merged_sources = merged.field_sources or {}
    merged_updates: dict = {}
    survivor_updates: dict = {}
    for field in FILL_FIELDS:
        old, new = getattr(survivor, field), getattr(merged, field)
        if _empty(old) and not _empty(new):
            survivor_updates[field] = new
    if _empty(survivor.document_number) and not _empty(merged.document_number):
        survivor_updates["document_type"] = merged.document_type
        survivor_updates["document_number"] = merged.document_number
    if "email" in survivor_updates:
        merged_updates["email"] = None
    if "document_number" in survivor_updates:
        merged_updates["document_number"] = None
        merged_updates["document_type"] = ""
    for field, value in survivor_updates.items():
        personal["filled"][field] = {"old": _text(getattr(survivor, field)), "new": _text(value),
                                     "old_source": sources.get(field)}
        logs.append(CustomerChangeLog(customer=survivor, field=field, old_value=_text(getattr(survivor, field)),
                                      new_value=_text(value), source=MERGE_SOURCE, changed_by=label,
                                      reason=f"filled from merged customer {merged.pk}"[:255]))
        sources[field] = merged_sources.get(field, merged.source or MERGE_SOURCE)
    for field in merged_updates:
        personal["merged_moved"][field] = _text(getattr(merged, field))

    # 2. Rows that move (ids recorded for the undo).
    order_ids = list(Order.objects.filter(customer=merged).values_list("pk", flat=True))
    identity_ids = list(CustomerIdentity.objects.filter(customer=merged).values_list("pk", flat=True))
    log_ids = list(CustomerChangeLog.objects.filter(customer=merged).values_list("pk", flat=True))
    survivor_default_types = set(Address.objects.filter(customer=survivor, is_default=True)
                                 .values_list("address_type", flat=True))
    addresses = list(Address.objects.filter(customer=merged).values_list("pk", "address_type", "is_default"))
    demoted = [pk for pk, kind, is_default in addresses if is_default and kind in survivor_default_types]
    snapshot = {
        "version": 1,
        "survivor_status": survivor.status,
        "merged_status": merged.status,
        "orders": order_ids,
        "identities": identity_ids,
        "addresses": [pk for pk, _, _ in addresses],
        "addresses_demoted": demoted,
        "change_logs": log_ids,
        "survivor_field_sources": survivor.field_sources or {},
        "loyalty": None,
        "credit": None,
        "personal": personal,
    }
    try:
        with transaction.atomic():
            # Unique identifiers leave the merged row before they reach the survivor.
            if merged_updates:
                Customer.objects.filter(pk=merged.pk).update(**merged_updates)
            if survivor_updates:
                Customer.objects.filter(pk=survivor.pk).update(**survivor_updates, field_sources=sources,
                                                               updated_at=now)
    except IntegrityError as exc:  # pragma: no cover - guarded by the uniqueness of the source row
        raise MergeConflict("The merged customer's identifiers clash with another customer.",
                            code="merge_identifier_conflict") from exc
    snapshot["credit"] = _credit_merge(survivor=survivor, merged=merged)
    snapshot["loyalty"] = _loyalty_merge(survivor=survivor, merged=merged)
    Order.objects.filter(pk__in=order_ids).update(customer=survivor)
    CustomerIdentity.objects.filter(pk__in=identity_ids).update(customer=survivor)
    Address.objects.filter(pk__in=demoted).update(is_default=False)
    Address.objects.filter(pk__in=snapshot["addresses"]).update(customer=survivor)
    CustomerChangeLog.objects.filter(pk__in=log_ids).update(customer=survivor)
    Customer.objects.filter(pk=merged.pk).update(status=Customer.Status.MERGED, merged_into=survivor,
                                                 updated_at=now)
    customer_aggregates_refresh(customer_ids=[survivor.pk, merged.pk])

    logs += [
        CustomerChangeLog(customer=survivor, field="merge", old_value=None, new_value=str(merged.pk),
                          source=MERGE_SOURCE, changed_by=label, reason=(reason or why)[:255]),
        CustomerChangeLog(customer=merged, field="status", old_value=merged.status,
                          new_value=Customer.Status.MERGED, source=MERGE_SOURCE, changed_by=label,
                          reason=f"merged into customer {survivor.pk}"),
    ]
    created_logs = CustomerChangeLog.objects.bulk_create(logs)
    snapshot["merge_logs"] = [log.pk for log in created_logs]
    merge = CustomerMerge.objects.create(survivor=survivor, merged=merged, snapshot=snapshot,
                                         reason=reason[:255], merged_by=label)
    # The suggestion that led here (if any) is settled; others naming the merged record are stale.
    pair = sorted((survivor.pk, merged.pk))
    DuplicateCandidate.objects.filter(customer_a_id=pair[0], customer_b_id=pair[1]).update(
        status=DuplicateCandidate.Status.MERGED, reviewed_by=label, reviewed_at=now, updated_at=now)
    DuplicateCandidate.objects.filter(Q(customer_a=merged) | Q(customer_b=merged),
                                      status=DuplicateCandidate.Status.PENDING).delete()
    audit_record(actor=actor, action="customer.merge", resource_type="customer", resource_id=survivor.pk,
                 tenant=connection.tenant,
                 changes={"merge_id": merge.pk, "survivor_id": survivor.pk, "merged_id": merged.pk,
                          "orders": len(order_ids), "identities": len(identity_ids),
                          "addresses": len(snapshot["addresses"]), "change_logs": len(log_ids),
                          "fields_filled": sorted(survivor_updates),
                          "loyalty": (snapshot["loyalty"] or {}).get("mode"),
                          "credit": (snapshot["credit"] or {}).get("mode")})
    publish_on_commit([
        ("customer.merged", {"customer_id": survivor.pk, "merged_ids": [merged.pk], "merge_id": merge.pk}),
        ("customer.updated", {"customer_id": survivor.pk, "fields": ["merge", *sorted(survivor_updates)]}),
        ("customer.updated", {"customer_id": merged.pk, "fields": ["status", "merged_into"]}),
    ])
    return merge


def _loyalty_undo(*, snapshot: dict | None, survivor: Customer, merged: Customer) -> None:
    if not snapshot:
        return
    if snapshot["mode"] == "account":
        LoyaltyAccount.objects.filter(pk=snapshot["account_id"]).update(customer=merged, updated_at=timezone.now())
        return
    source_id, target_id = snapshot["from_account_id"], snapshot["to_account_id"]
    moved = {int(pk): remaining for pk, remaining in snapshot["transactions"].items()}
    current = dict(LoyaltyTransaction.objects.filter(pk__in=moved).values_list("pk", "remaining"))
    if any(current.get(pk, remaining) != remaining for pk, remaining in moved.items()):
        raise MergeConflict("Points moved by this merge were spent or expired since; the loyalty ledgers can no "
                            "longer be separated exactly.", code="merge_undo_diverged")
    LoyaltyTransaction.objects.filter(pk__in=moved).update(account_id=source_id)
    before_from, before_to = snapshot["from_before"], snapshot["to_before"]
    target = LoyaltyAccount.objects.select_for_update().get(pk=target_id)
    target_updates = {}
    for key in LOYALTY_COUNTERS:
        value = getattr(target, key) - type(getattr(target, key))(before_from[key])
        target_updates[key] = value
    target_updates["tier"] = before_to["tier"]
    target_updates["tier_since"] = _decode("birth_date", before_to["tier_since"])
    balance = _ledger_sum(target_id)
    if balance < 0:
        raise MergeConflict("The survivor has spent points that came with this merge.", code="merge_undo_diverged")
    LoyaltyAccount.objects.filter(pk=target_id).update(points_balance=balance, updated_at=timezone.now(),
                                                       **target_updates)
    LoyaltyAccount.objects.filter(pk=source_id).update(
        points_balance=_ledger_sum(source_id), tier=before_from["tier"], updated_at=timezone.now(),
        tier_since=_decode("birth_date", before_from["tier_since"]),
        **{key: type(getattr(target, key))(before_from[key]) for key in LOYALTY_COUNTERS})


@transaction.atomic
def merge_undo(*, merge_id: int, actor: Actor) -> CustomerMerge:
    """Put back everything the merge moved or changed and recompute both customers' aggregates.

    Survivor fields the merge filled are cleared again unless someone changed them since (then the
    newer value stays). Errors: NotFound; Conflict ``merge_already_undone``,
    ``customer_pseudonymized`` (the snapshot was wiped), ``merge_undo_blocked`` (the survivor was
    itself merged away since: undo that merge first), ``merge_undo_diverged`` (moved points spent)."""
    from tenants.services import audit_record

    merge = CustomerMerge.objects.select_for_update().filter(pk=merge_id).first() if str(merge_id).isdigit() else None
    if merge is None:
        raise NotFound("Merge not found.")
    if merge.undone_at is not None:
        raise MergeConflict("This merge was already undone.", code="merge_already_undone")
    snapshot = merge.snapshot or {}
    if snapshot.get("pseudonymized") or snapshot.get("personal") is None:
        raise MergeConflict("A customer of this merge was pseudonymized; it cannot be undone.",
                            code="customer_pseudonymized")
    locked = _lock(merge.survivor_id, merge.merged_id)
    survivor, merged = locked[merge.survivor_id], locked[merge.merged_id]
    if survivor.status == Customer.Status.MERGED:
        raise MergeConflict(f"The survivor was merged into customer {survivor.merged_into_id} since; undo that "
                            "merge first.", code="merge_undo_blocked")
    if survivor.is_pseudonymized or merged.is_pseudonymized:
        raise MergeConflict("A customer of this merge was pseudonymized; it cannot be undone.",
                            code="customer_pseudonymized")
    now = timezone.now()
    label = actor.label[:255]
    personal = snapshot["personal"]

    Order.objects.filter(pk__in=snapshot["orders"]).update(customer=merged)
    CustomerIdentity.objects.filter(pk__in=snapshot["identities"]).update(customer=merged)
    Address.objects.filter(pk__in=snapshot["addresses"]).update(customer=merged)
    Address.objects.filter(pk__in=snapshot["addresses_demoted"]).update(is_default=True)
    CustomerChangeLog.objects.filter(pk__in=snapshot["change_logs"]).update(customer=merged)
    _loyalty_undo(snapshot=snapshot.get("loyalty"), survivor=survivor, merged=merged)
    credit = snapshot.get("credit")
    if credit and credit["mode"] == "account":
        CreditAccount.objects.filter(pk=credit["account_id"]).update(customer=merged, updated_at=now)

    # The survivor's filled fields go back to empty unless someone changed them since.
    logs: list[CustomerChangeLog] = []
    sources = dict(survivor.field_sources or {})
    survivor_updates: dict = {}
    for field, change in personal["filled"].items():
        if _text(getattr(survivor, field)) != change["new"]:
            continue
        survivor_updates[field] = _decode(field, change["old"])
        if change.get("old_source") is None:
            sources.pop(field, None)
        else:
            sources[field] = change["old_source"]
        logs.append(CustomerChangeLog(customer=survivor, field=field, old_value=change["new"],
                                      new_value=change["old"], source=MERGE_SOURCE, changed_by=label,
                                      reason=f"undo of merge {merge.pk}"))
    if "document_number" in personal["filled"] and "document_number" not in survivor_updates:
        survivor_updates.pop("document_type", None)
    if survivor_updates:
        Customer.objects.filter(pk=survivor.pk).update(**survivor_updates, field_sources=sources, updated_at=now)
    merged_updates = {"status": snapshot.get("merged_status") or Customer.Status.ACTIVE, "merged_into": None,
                      "updated_at": now}
    for field, value in personal["merged_moved"].items():
        # Only when the value left the survivor again (or never reached it): uniqueness holds.
        if field in ("email", "document_number") and field not in survivor_updates:
            continue
        if field == "document_type" and "document_number" not in survivor_updates:
            continue
        merged_updates[field] = value if field != "document_type" else (value or "")
    Customer.objects.filter(pk=merged.pk).update(**merged_updates)
    customer_aggregates_refresh(customer_ids=[survivor.pk, merged.pk])

    logs += [
        CustomerChangeLog(customer=survivor, field="merge", old_value=str(merged.pk), new_value=None,
                          source=MERGE_SOURCE, changed_by=label, reason=f"undo of merge {merge.pk}"),
        CustomerChangeLog(customer=merged, field="status", old_value=Customer.Status.MERGED,
                          new_value=merged_updates["status"], source=MERGE_SOURCE, changed_by=label,
                          reason=f"undo of merge {merge.pk}"),
    ]
    CustomerChangeLog.objects.bulk_create(logs)
    CustomerMerge.objects.filter(pk=merge.pk).update(undone_at=now, undone_by=label)
    pair = sorted((survivor.pk, merged.pk))
    DuplicateCandidate.objects.filter(customer_a_id=pair[0], customer_b_id=pair[1],
                                      status=DuplicateCandidate.Status.MERGED).update(
        status=DuplicateCandidate.Status.PENDING, reviewed_by="", reviewed_at=None, updated_at=now)
    audit_record(actor=actor, action="customer.merge_undo", resource_type="customer", resource_id=survivor.pk,
                 tenant=connection.tenant,
                 changes={"merge_id": merge.pk, "survivor_id": survivor.pk, "merged_id": merged.pk,
                          "fields_restored": sorted(survivor_updates)})
    publish_on_commit([
        ("customer.updated", {"customer_id": survivor.pk, "fields": ["merge_undo", *sorted(survivor_updates)]}),
        ("customer.updated", {"customer_id": merged.pk, "fields": ["status", "merged_into"]}),
    ])
    merge.refresh_from_db()
    return merge
