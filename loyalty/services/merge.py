"""Merges of two customers, as loyalty sees them: the merged customer's account or ledger, its
vouchers and reward redemptions go to the survivor, and the undo puts them back. Registered with
customers as the ``loyalty`` merge handler (``loyalty.apps``): the merge service calls
``loyalty_customer_merge`` inside its transaction and keeps what it returns in the merge's
snapshot under ``"loyalty"`` (the key it always had; ``mode`` says what happened to the account),
and its undo hands that back to ``loyalty_customer_merge_undo``."""

from __future__ import annotations

from django.db.models import Sum
from django.utils import timezone

from cdp.exceptions import Conflict
from customers.services.common import as_text, from_text
from loyalty.codes import ErrorCode
from loyalty.models import LoyaltyAccount, LoyaltyTransaction, RewardRedemption, Tier, Voucher

#: Loyalty counters that add up when two customers' accounts are merged.
MERGED_COUNTERS = ("lifetime_points", "points_redeemed", "points_expired", "rolling_points", "rolling_spend")
TIER_RANK = {tier: rank for rank, tier in enumerate(Tier.values)}


def _account_counters(account: LoyaltyAccount) -> dict:
    return {"points_balance": account.points_balance, "tier": account.tier, "tier_since": as_text(account.tier_since),
            **{key: str(getattr(account, key)) for key in MERGED_COUNTERS}}


def _ledger_sum(account_id: int) -> int:
    return LoyaltyTransaction.objects.filter(account_id=account_id).aggregate(s=Sum("points"))["s"] or 0


def loyalty_accounts_merge(*, survivor_id: int, merged_id: int) -> dict | None:
    """Give the survivor the merged customer's points: its account when the survivor has none;
    otherwise its ledger, the survivor's counters becoming the sums (the balance the ledger's sum)
    and its tier the higher of the two, the merged account left at zero. Returns what
    ``loyalty_accounts_merge_undo`` needs (None: the merged customer had no account)."""
    source = LoyaltyAccount.objects.select_for_update().filter(customer_id=merged_id).first()
    if source is None:
        return None
    target = LoyaltyAccount.objects.select_for_update().filter(customer_id=survivor_id).first()
    if target is None:
        LoyaltyAccount.objects.filter(pk=source.pk).update(customer_id=survivor_id)
        return {"mode": "account", "account_id": source.pk}
    entries = list(LoyaltyTransaction.objects.filter(account=source).values_list("pk", "remaining"))
    snapshot = {"mode": "ledger", "from_account_id": source.pk, "to_account_id": target.pk,
                "transactions": {str(pk): remaining for pk, remaining in entries},
                "from_before": _account_counters(source), "to_before": _account_counters(target)}
    LoyaltyTransaction.objects.filter(pk__in=[pk for pk, _ in entries]).update(account=target)
    updates = {key: getattr(target, key) + getattr(source, key) for key in MERGED_COUNTERS}
    if TIER_RANK.get(source.tier, 0) > TIER_RANK.get(target.tier, 0):
        updates.update(tier=source.tier, tier_since=source.tier_since)
    LoyaltyAccount.objects.filter(pk=target.pk).update(points_balance=_ledger_sum(target.pk),
                                                       updated_at=timezone.now(), **updates)
    LoyaltyAccount.objects.filter(pk=source.pk).update(points_balance=0, updated_at=timezone.now(),
                                                       **{key: 0 for key in MERGED_COUNTERS})
    return snapshot


def loyalty_accounts_merge_undo(*, snapshot: dict | None, merged_id: int) -> None:
    """Put back what ``loyalty_accounts_merge`` moved (``snapshot`` is what it returned). Refused
    (409 ``merge_undo_diverged``) when points that came with the merge were spent or expired since:
    the two ledgers can no longer be separated exactly."""
    if not snapshot:
        return
    if snapshot["mode"] == "account":
        LoyaltyAccount.objects.filter(pk=snapshot["account_id"]).update(customer_id=merged_id,
                                                                        updated_at=timezone.now())
        return
    source_id, target_id = snapshot["from_account_id"], snapshot["to_account_id"]
    moved = {int(pk): remaining for pk, remaining in snapshot["transactions"].items()}
    current = dict(LoyaltyTransaction.objects.filter(pk__in=moved).values_list("pk", "remaining"))
    if any(current.get(pk, remaining) != remaining for pk, remaining in moved.items()):
        raise Conflict("Points moved by this merge were spent or expired since; the loyalty ledgers can no "
                       "longer be separated exactly.", code=ErrorCode.MERGE_UNDO_DIVERGED)
    LoyaltyTransaction.objects.filter(pk__in=moved).update(account_id=source_id)
    before_from, before_to = snapshot["from_before"], snapshot["to_before"]
    target = LoyaltyAccount.objects.select_for_update().get(pk=target_id)
    balance = _ledger_sum(target_id)
    if balance < 0:
        raise Conflict("The survivor has spent points that came with this merge.",
                       code=ErrorCode.MERGE_UNDO_DIVERGED)

    def counter(key, text):  # a counter as the snapshot kept it (text), in the column's type
        return type(getattr(target, key))(text)

    LoyaltyAccount.objects.filter(pk=target_id).update(
        points_balance=balance, updated_at=timezone.now(), tier=before_to["tier"],
        tier_since=from_text(LoyaltyAccount, "tier_since", before_to["tier_since"]),
        **{key: getattr(target, key) - counter(key, before_from[key]) for key in MERGED_COUNTERS})
    LoyaltyAccount.objects.filter(pk=source_id).update(
        points_balance=_ledger_sum(source_id), tier=before_from["tier"], updated_at=timezone.now(),
        tier_since=from_text(LoyaltyAccount, "tier_since", before_from["tier_since"]),
        **{key: counter(key, before_from[key]) for key in MERGED_COUNTERS})


def loyalty_customer_merge(*, survivor_id: int, merged_id: int) -> dict | None:
    """The merge handler: the account or ledger (``loyalty_accounts_merge``), then the merged
    customer's vouchers and redemptions, to the survivor. None when nothing moved."""
    snapshot = loyalty_accounts_merge(survivor_id=survivor_id, merged_id=merged_id)
    vouchers = list(Voucher.objects.filter(customer_id=merged_id).values_list("pk", flat=True))
    redemptions = list(RewardRedemption.objects.filter(customer_id=merged_id).values_list("pk", flat=True))
    if snapshot is None and not vouchers and not redemptions:
        return None
    Voucher.objects.filter(pk__in=vouchers).update(customer_id=survivor_id, updated_at=timezone.now())
    RewardRedemption.objects.filter(pk__in=redemptions).update(customer_id=survivor_id)
    return {**(snapshot or {"mode": None}), "vouchers": vouchers, "redemptions": redemptions}


def loyalty_customer_merge_undo(*, snapshot: dict | None, merged_id: int) -> None:
    """The undo of ``loyalty_customer_merge`` (snapshots of merges made before vouchers existed
    have no voucher lists: nothing to put back there)."""
    if not snapshot:
        return
    Voucher.objects.filter(pk__in=snapshot.get("vouchers", [])).update(customer_id=merged_id,
                                                                      updated_at=timezone.now())
    RewardRedemption.objects.filter(pk__in=snapshot.get("redemptions", [])).update(customer_id=merged_id)
    if snapshot.get("mode"):
        loyalty_accounts_merge_undo(snapshot=snapshot, merged_id=merged_id)
