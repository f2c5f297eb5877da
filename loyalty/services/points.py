"""Loyalty's points: the program and its tier rules, earning per counted order, redemption,
staff adjustments and bonuses, expiry and tier recomputation.

Promises kept by every function here:
- The ledger is the truth: ``LoyaltyAccount.points_balance`` equals the sum of the account's
  ``LoyaltyTransaction.points`` and the sum of the credits' ``remaining`` after every write.
- Every write locks the account row first (``select_for_update``), so concurrent redemptions,
  expiry and earning serialize per account and the balance never goes below zero.
- Credits (earn, bonus, positive adjust) carry ``remaining``; debits (redeem, negative adjust)
  spend the soonest-expiring credits first (FIFO by ``expires_at``, never-expiring last).
- Points follow the order's life under the tenant's counted-sale rule
  (``customers.selectors.counted_statuses``, the rule every figure uses): an order earns
  when it becomes a sale (paid, invoiced or completed by default; whatever the source), once (the
  ``uniq_loyalty_earn_per_order`` constraint backs it). When an earning order stops being a sale
  (cancelled, refunded, back to pending), what is left of its points (not yet spent or expired)
  is taken back with an ``adjust`` entry; points already spent are not clawed back, since the
  balance may never go below zero. A reversed order that becomes a sale again does not earn a
  second time.
- A merge of two customers moves the merged one's account or ledger to the survivor, and its undo
  puts them back (``loyalty.services.merge``, a merge handler registered with customers).
"""

from __future__ import annotations

import datetime
import logging
from decimal import ROUND_DOWN, Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict, NotFound
from customers.models import Order
from customers.selectors import counted_statuses
from customers.services.common import audit, customer_current
from loyalty.codes import AuditAction, ErrorCode
from loyalty.models import LoyaltyAccount, LoyaltyProgram, LoyaltyTierRule, LoyaltyTransaction, Tier
from loyalty.selectors import (
    loyalty_defaults,
    loyalty_program_get,
    loyalty_tier_rules,
    partner_by_slug,
    tenant_currency,
)
from tenants.services import changes_between

EntryType = LoyaltyTransaction.Type
logger = logging.getLogger(__name__)

#: One entry never moves more than this (keeps sums far from the 32-bit column limit).
MAX_POINTS_PER_ENTRY = 100_000_000
REVERSAL = "order_reversal"


class InsufficientPoints(Conflict):
    code = ErrorCode.POINTS_INSUFFICIENT


class LoyaltyError(ApplicationError):
    code = ErrorCode.LOYALTY_OPERATION_INVALID


def _audit(*, actor: Actor, action: str, resource_id, changes: dict) -> None:
    audit(actor=actor, action=action, resource_type="loyalty_account", resource_id=resource_id, changes=changes)


# --- program and tier rules ---------------------------------------------------------------

def loyalty_defaults_create(*, currency: str | None = None) -> LoyaltyProgram:
    """The tenant's program and its four tier rules with their defaults for ``currency`` (default:
    the tenant's; see ``loyalty.selectors.loyalty_defaults``), unless they exist. Run
    when a tenant is provisioned (``loyalty.receivers``); idempotent."""
    with transaction.atomic():
        # The program is a singleton without a unique key: serialize its creation per tenant.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                           [f"customers.loyalty:{connection.schema_name}"])
        program = LoyaltyProgram.objects.order_by("id").first()
        program_default, rules = loyalty_defaults(currency=currency or tenant_currency())
        if program is None:
            program = program_default
            program.save()
        LoyaltyTierRule.objects.bulk_create(rules, ignore_conflicts=True)
    return program


PROGRAM_FIELDS = ("name", "is_active", "points_per_currency_unit", "points_validity_days", "tier_basis",
                  "tier_window_days", "referral_referrer_points", "referral_referred_points", "referral_monthly_cap",
                  "point_value")


@transaction.atomic
def loyalty_program_update(*, actor: Actor, values: dict) -> LoyaltyProgram:
    """Change the program's settings (only the keys of PROGRAM_FIELDS given in ``values``). New
    settings apply to future earnings; tiers follow at the next recomputation."""
    program = LoyaltyProgram.objects.select_for_update().get(pk=loyalty_defaults_create().pk)
    unknown = set(values) - set(PROGRAM_FIELDS)
    if unknown:
        raise LoyaltyError(f"Unknown program settings: {', '.join(sorted(unknown))}.")
    before = {key: getattr(program, key) for key in values}
    for key, value in values.items():
        setattr(program, key, value)
    if program.points_per_currency_unit is None or Decimal(program.points_per_currency_unit) < 0:
        raise LoyaltyError("The earning rate cannot be negative.",
                           fields={"points_per_currency_unit": ["Must be ≥ 0."]})
    program.full_clean()
    program.save()
    _audit(actor=actor, action=AuditAction.LOYALTY_PROGRAM_UPDATE, resource_id=program.pk,
           changes=changes_between(before, {key: getattr(program, key) for key in values}))
    return program


@transaction.atomic
def loyalty_tier_rule_update(*, tier: str, actor: Actor, min_spend: Decimal | None = None,
                             min_points: int | None = None, multiplier: Decimal | None = None,
                             benefits: dict | None = None) -> LoyaltyTierRule:
    """Edit one tier's thresholds, multiplier or benefits. Thresholds must not decrease from
    bronze to platinum, and bronze stays at zero (everyone has a tier)."""
    loyalty_defaults_create()
    rules = {rule.tier: rule for rule in LoyaltyTierRule.objects.select_for_update().order_by("rank")}
    rule = rules.get(tier)
    if rule is None:
        raise NotFound("Tier not found.")
    before = _tier_rule_values(rule)
    if min_spend is not None:
        rule.min_spend = min_spend
    if min_points is not None:
        rule.min_points = min_points
    if multiplier is not None:
        if multiplier <= 0:
            raise LoyaltyError("The multiplier must be greater than zero.", fields={"multiplier": ["Must be > 0."]})
        rule.multiplier = multiplier
    if benefits is not None:
        rule.benefits = benefits
    if rule.tier == Tier.BRONZE and (rule.min_spend != 0 or rule.min_points != 0):
        raise LoyaltyError("Bronze is the entry tier; its thresholds stay at zero.",
                           code=ErrorCode.TIER_THRESHOLDS_INVALID,
                           fields={"min_spend": ["Bronze starts at 0."]})
    ordered = sorted(rules.values(), key=lambda r: r.rank)
    for lower, higher in zip(ordered, ordered[1:]):
        if higher.min_spend < lower.min_spend or higher.min_points < lower.min_points:
            raise LoyaltyError(f"{higher.get_tier_display()} cannot need less than {lower.get_tier_display()}.",
                               code=ErrorCode.TIER_THRESHOLDS_INVALID,
                               fields={"min_spend": ["Thresholds must not decrease from bronze to platinum."]})
    rule.full_clean()
    rule.save()
    _audit(actor=actor, action=AuditAction.LOYALTY_TIER_UPDATE, resource_id=rule.tier,
           changes=changes_between(before, _tier_rule_values(rule)))
    return rule


def _tier_rule_values(rule: LoyaltyTierRule) -> dict:
    return {"min_spend": str(rule.min_spend), "min_points": rule.min_points, "multiplier": str(rule.multiplier),
            "benefits": rule.benefits}


def loyalty_tier_for(*, rules: list[LoyaltyTierRule], basis: str, spend: Decimal, points: int) -> str:
    """The highest tier whose threshold the metric of ``basis`` reaches (bronze at least)."""
    for rule in sorted(rules, key=lambda r: r.rank, reverse=True):
        reached = spend >= rule.min_spend if basis == LoyaltyProgram.TierBasis.SPEND else points >= rule.min_points
        if reached:
            return rule.tier
    return Tier.BRONZE


# --- the ledger's building blocks (callers hold the account lock) -------------------------------

def _account_locked(*, customer_id: int) -> LoyaltyAccount:
    account = LoyaltyAccount.objects.select_for_update().filter(customer_id=customer_id).first()
    if account is None:
        LoyaltyAccount.objects.get_or_create(customer_id=customer_id)  # a concurrent creator wins quietly
        account = LoyaltyAccount.objects.select_for_update().get(customer_id=customer_id)
    return account


def partner_funded_points(points: int, partner) -> int:
    """The part of ``points`` earned at ``partner`` that it funds (its funding share, rounded down)."""
    if partner is None or not points:
        return 0
    return int((Decimal(points) * partner.funding_share / 100).to_integral_value(ROUND_DOWN))


def _expires_at(program: LoyaltyProgram, start: datetime.datetime) -> datetime.datetime | None:
    days = program.points_validity_days
    return start + datetime.timedelta(days=days) if days else None


def _credit(account: LoyaltyAccount, *, type: str, points: int, expires_at, actor_label: str, order=None,
            reference: str = "", description: str = "", metadata: dict | None = None, partner=None,
            partner_funded: int = 0) -> LoyaltyTransaction:
    entry = LoyaltyTransaction.objects.create(
        account=account, type=type, points=points, remaining=points, expires_at=expires_at, order=order,
        reference=reference[:255], description=description[:255], metadata=metadata or {},
        created_by=actor_label[:255], partner=partner, partner_funded=partner_funded)
    account.points_balance += points
    return entry


def _consume(account: LoyaltyAccount, *, points: int) -> list[dict]:
    """Take ``points`` from the credits' ``remaining``, soonest-expiring first. The caller has
    checked the balance; returns which credits paid how much (kept in the debit's metadata)."""
    lots = (LoyaltyTransaction.objects.select_for_update()
            .filter(account=account, remaining__gt=0)
            .order_by(F("expires_at").asc(nulls_last=True), "created_at", "id"))
    left, used, touched = points, [], []
    for lot in lots:
        if left <= 0:
            break
        take = min(lot.remaining, left)
        lot.remaining -= take
        left -= take
        used.append({"id": lot.pk, "points": take})
        touched.append(lot)
    if left > 0:  # only if the stored balance disagreed with the ledger
        raise InsufficientPoints("Not enough points.", fields={"points": ["Not enough points."]})
    LoyaltyTransaction.objects.bulk_update(touched, ["remaining"])
    return used


def _debit(account: LoyaltyAccount, *, type: str, points: int, actor_label: str, reference: str = "",
           description: str = "", metadata: dict | None = None, order=None) -> LoyaltyTransaction:
    if points > account.points_balance:
        raise InsufficientPoints(
            f"Not enough points: the balance is {account.points_balance}, {points} were asked.",
            fields={"points": [f"At most {account.points_balance}."]})
    used = _consume(account, points=points)
    account.points_balance -= points
    return LoyaltyTransaction.objects.create(
        account=account, type=type, points=-points, remaining=0, order=order, reference=reference[:255],
        description=description[:255], metadata={**(metadata or {}), "spent_from": used},
        created_by=actor_label[:255])


def _expire_due(account: LoyaltyAccount, *, now: datetime.datetime) -> int:
    """Expire what is left of the account's credits that are due; one ``expire`` entry."""
    lots = list(LoyaltyTransaction.objects.select_for_update()
                .filter(account=account, remaining__gt=0, expires_at__lte=now).order_by("expires_at", "id"))
    total = sum(lot.remaining for lot in lots)
    if not total:
        return 0
    LoyaltyTransaction.objects.create(
        account=account, type=EntryType.EXPIRE, points=-total, remaining=0, description="Points expired",
        metadata={"expired_from": [{"id": lot.pk, "points": lot.remaining} for lot in lots]}, created_by="system")
    for lot in lots:
        lot.remaining = 0
    LoyaltyTransaction.objects.bulk_update(lots, ["remaining"])
    account.points_balance -= total
    account.points_expired += total
    return total


def _rolling(*, account: LoyaltyAccount, program: LoyaltyProgram, now: datetime.datetime) -> tuple[Decimal, int]:
    start = now - datetime.timedelta(days=program.tier_window_days)
    spend = (Order.objects.filter(customer_id=account.customer_id, order_date__gte=start,
                                  status__in=counted_statuses())
             .aggregate(s=Sum("total_amount"))["s"]) or Decimal(0)
    points = (LoyaltyTransaction.objects.filter(account=account, created_at__gte=start)
              .filter(_rolling_points_q()).aggregate(s=Sum("points"))["s"]) or 0
    return spend, points


def _rolling_points_q() -> Q:
    # Points earned in the window: earnings and bonuses, less the reversals of orders no longer sales.
    return Q(type__in=[EntryType.EARN, EntryType.BONUS]) | Q(type=EntryType.ADJUST, metadata__kind=REVERSAL)


def _tier_apply(account: LoyaltyAccount, *, program: LoyaltyProgram, rules: list[LoyaltyTierRule],
                now: datetime.datetime) -> bool:
    spend, points = _rolling(account=account, program=program, now=now)
    tier = loyalty_tier_for(rules=rules, basis=program.tier_basis, spend=spend, points=points)
    changed = tier != account.tier
    if changed or account.tier_since is None:
        account.tier_since = timezone.localdate(now)
    account.tier = tier
    account.rolling_spend = spend
    account.rolling_points = points
    account.tier_evaluated_at = now
    return changed


ACCOUNT_FIELDS = ["points_balance", "lifetime_points", "points_redeemed", "points_expired", "tier", "tier_since",
                  "tier_evaluated_at", "rolling_spend", "rolling_points", "updated_at"]


def _save(account: LoyaltyAccount) -> None:
    account.save(update_fields=ACCOUNT_FIELDS)


def _check_points(points) -> int:
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise LoyaltyError("Points must be a whole number greater than zero.", fields={"points": ["Must be > 0."]})
    if points > MAX_POINTS_PER_ENTRY:
        raise LoyaltyError(f"At most {MAX_POINTS_PER_ENTRY} points per operation.",
                           fields={"points": [f"At most {MAX_POINTS_PER_ENTRY}."]})
    return points


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise LoyaltyError("A reason is required.", code=ErrorCode.REASON_REQUIRED, fields={"reason": ["Required."]})
    return reason


# --- earning from orders ------------------------------------------------------------------------

def loyalty_order_sync(*, order_id: int, now: datetime.datetime | None = None,
                       counted: tuple[str, ...] | None = None) -> LoyaltyTransaction | None:
    """Bring one order's points in line with its status: an order that counts as a sale
    (``counted``, default the tenant's rule) earns once (``total_amount`` × the program's rate ×
    the multiplier of the customer's tier before this order, rounded down; expiring
    ``points_validity_days`` after the order date, so an order whose points would already be
    expired earns nothing); an order that earned and no longer counts gives back what is left of
    those points. Idempotent; returns the entry written, if any."""
    now = now or timezone.now()
    counted = counted_statuses() if counted is None else counted
    with transaction.atomic():
        order = Order.objects.filter(pk=order_id).first()
        if order is None:
            return None
        if order.status in counted:
            return _order_earn(order, now=now)
        return _order_reverse(order, now=now)


def loyalty_orders_sync(*, order_ids, now: datetime.datetime | None = None) -> int:
    """``loyalty_order_sync`` for many orders, one transaction each; returns entries written."""
    written = 0
    counted = counted_statuses()
    for order_id in order_ids:
        if loyalty_order_sync(order_id=order_id, now=now, counted=counted) is not None:
            written += 1
    return written


def _order_earn(order: Order, *, now: datetime.datetime) -> LoyaltyTransaction | None:
    program = loyalty_program_get()
    if not program.is_active or LoyaltyTransaction.objects.filter(order=order, type=EntryType.EARN).exists():
        return None
    expires_at = _expires_at(program, order.order_date)
    if expires_at is not None and expires_at <= now:
        return None
    account = _account_locked(customer_id=order.customer_id)
    rules = loyalty_tier_rules()
    multiplier = next((rule.multiplier for rule in rules if rule.tier == account.tier), Decimal(1))
    # A purchase at a partner follows its rules: its earn multiplier on top of the tier's, and it
    # funds its share of the points (the settlement sums ``partner_funded``).
    partner = partner_by_slug(slug=order.partner) if order.partner else None
    partner_multiplier = partner.earn_multiplier if partner is not None else Decimal(1)
    points = int((order.total_amount * program.points_per_currency_unit * multiplier * partner_multiplier)
                 .to_integral_value(ROUND_DOWN))
    points = min(points, MAX_POINTS_PER_ENTRY)
    if points <= 0:
        return None
    funded = partner_funded_points(points, partner)
    metadata = {"rate": str(program.points_per_currency_unit), "multiplier": str(multiplier),
                "tier": account.tier, "amount": str(order.total_amount)}
    if partner is not None:
        metadata.update(partner=partner.slug, partner_multiplier=str(partner_multiplier),
                        funding_share=str(partner.funding_share))
    try:
        with transaction.atomic():
            entry = _credit(account, type=EntryType.EARN, points=points, expires_at=expires_at, actor_label="system",
                            order=order, reference=f"{order.source}:{order.external_order_id}",
                            description=f"Points for order {order.order_number or order.external_order_id}",
                            metadata=metadata, partner=partner, partner_funded=funded)
    except IntegrityError:  # a concurrent sync of the same order earned first
        return None
    account.lifetime_points += points
    _tier_apply(account, program=program, rules=rules, now=now)
    _save(account)
    return entry


def _order_reverse(order: Order, *, now: datetime.datetime) -> LoyaltyTransaction | None:
    earn = LoyaltyTransaction.objects.filter(order=order, type=EntryType.EARN).select_related("account").first()
    if earn is None or earn.metadata.get("reversed"):
        return None
    account = _account_locked(customer_id=earn.account.customer_id)
    earn = LoyaltyTransaction.objects.select_for_update().get(pk=earn.pk)
    if earn.metadata.get("reversed"):
        return None
    _expire_due(account, now=now)
    earn.refresh_from_db(fields=["remaining"])
    amount = earn.remaining
    entry = None
    if amount:
        # The partner stops funding the points taken back, in the proportion it funded them.
        unfunded = -((earn.partner_funded * amount) // earn.points) if earn.partner_funded else 0
        entry = LoyaltyTransaction.objects.create(
            account=account, type=EntryType.ADJUST, points=-amount, remaining=0, order=order,
            reference=earn.reference, description=f"Order {order.status}, no longer a sale: earned points taken back",
            metadata={"kind": REVERSAL, "earn_id": earn.pk, "spent_before": earn.points - amount},
            created_by="system", partner_id=earn.partner_id, partner_funded=unfunded)
        account.points_balance -= amount
        account.lifetime_points -= amount
    earn.remaining = 0
    earn.metadata = {**earn.metadata, "reversed": True, "reversed_points": amount}
    earn.save(update_fields=["remaining", "metadata"])
    program = loyalty_program_get()
    _tier_apply(account, program=program, rules=loyalty_tier_rules(), now=now)
    _save(account)
    return entry


def loyalty_catch_up(*, now: datetime.datetime | None = None, lookback: datetime.timedelta = datetime.timedelta(days=3),
                     settle: datetime.timedelta = datetime.timedelta(minutes=15), chunk: int = 1000) -> int:
    """Earn (or give back) for the orders whose ``order.ingested`` never reached a loyalty task:
    the ingest hook buffers order ids in the ingesting process, and a crash (or a broker outage)
    loses what was not sent yet. Looks at the orders changed between ``lookback`` and ``settle``
    ago (younger ones are still on their way through the normal path): sales without an earn
    entry, orders that are no longer sales whose earn was not given back. Orders older than the
    window are left alone, so turning the program on does not pay out the tenant's history.
    The same rule as ``loyalty_order_sync`` decides (the tenant's counted statuses). Idempotent;
    returns the ledger entries written."""
    now = now or timezone.now()
    program = loyalty_program_get()
    if not program.is_active:
        return 0
    recent = Order.objects.filter(updated_at__gte=now - lookback, updated_at__lt=now - settle)
    order_ids = _orders_out_of_line(recent, counted=counted_statuses(), program=program, now=now)
    written = 0
    for start in range(0, len(order_ids), chunk):
        written += loyalty_orders_sync(order_ids=order_ids[start:start + chunk], now=now)
    if order_ids:
        logger.info("loyalty catch-up in %s: %s orders looked at, %s entries written",
                    connection.schema_name, len(order_ids), written)
    return written


def _orders_out_of_line(orders, *, counted: tuple[str, ...], program: LoyaltyProgram,
                        now: datetime.datetime) -> list[int]:
    """Ids of ``orders`` whose points disagree with their status: sales without an earn entry
    (only those whose points would not be expired yet), non-sales whose earn is not given back."""
    earned = LoyaltyTransaction.objects.filter(order=OuterRef("pk"), type=EntryType.EARN)
    missing = orders.filter(status__in=counted).exclude(Exists(earned))
    if program.points_validity_days:
        missing = missing.filter(order_date__gt=now - datetime.timedelta(days=program.points_validity_days))
    unreversed = orders.exclude(status__in=counted).filter(
        Exists(earned.exclude(metadata__contains={"reversed": True})))
    return sorted({*missing.values_list("pk", flat=True), *unreversed.values_list("pk", flat=True)})


def loyalty_counted_reconcile(*, statuses_before: tuple[str, ...], statuses_after: tuple[str, ...],
                              now: datetime.datetime | None = None) -> dict:
    """After the counted-sale rule changed from ``statuses_before`` to ``statuses_after``: orders
    in a status that became a sale earn (if their points would not be expired yet), orders in a
    status that stopped being one give back what is left of their points. Other orders are
    untouched (their standing did not change). Returns {"orders", "entries"}."""
    now = now or timezone.now()
    program = loyalty_program_get()
    changed = set(statuses_before) ^ set(statuses_after)
    if not program.is_active or not changed:
        return {"orders": 0, "entries": 0}
    order_ids = _orders_out_of_line(Order.objects.filter(status__in=sorted(changed)),
                                    counted=tuple(statuses_after), program=program, now=now)
    written = sum(loyalty_order_sync(order_id=order_id, now=now, counted=tuple(statuses_after)) is not None
                  for order_id in order_ids)
    return {"orders": len(order_ids), "entries": written}


def loyalty_counted_sale_recompute(*, tenant, actor: Actor, inline: bool, statuses_before: tuple[str, ...],
                                   statuses_after: tuple[str, ...]) -> dict:
    """Registered with customers as a counted-sale dependent (``loyalty.apps``): the recorded
    recomputation after the counted-sale rule changed calls it, in the tenant's schema, after the
    customer aggregates. Always inline (it touches only the orders in the statuses that changed);
    ``tenant``, ``actor`` and ``inline`` are the dependent's contract."""
    return loyalty_counted_reconcile(statuses_before=statuses_before, statuses_after=statuses_after)


# --- people's operations ------------------------------------------------------------------------

@transaction.atomic
def loyalty_points_redeem(*, customer_id: int, points: int, actor: Actor, description: str = "",
                          reference: str = "") -> LoyaltyTransaction:
    """Spend ``points`` of the customer's balance, soonest-expiring first. Raises
    InsufficientPoints (409 ``insufficient_points``) rather than go below zero, writing nothing;
    points past their expiry are expired first, so they cannot be spent."""
    customer = customer_current(customer_id)
    _check_points(points)
    account = _account_locked(customer_id=customer.pk)
    now = timezone.now()
    _expire_due(account, now=now)
    entry = _debit(account, type=EntryType.REDEEM, points=points, actor_label=actor.label, reference=reference,
                   description=description or "Redemption")
    account.points_redeemed += points
    _save(account)
    _audit(actor=actor, action=AuditAction.LOYALTY_REDEEM, resource_id=account.pk,
           changes={"customer_id": customer.pk, "points": -points, "balance": account.points_balance,
                    "reference": reference})
    return entry


@transaction.atomic
def loyalty_points_adjust(*, customer_id: int, points: int, reason: str, actor: Actor,
                          reference: str = "") -> LoyaltyTransaction:
    """A staff correction with a reason: positive points are a new credit (expiring like earned
    points), negative ones are spent like a redemption and may not take the balance below zero."""
    customer = customer_current(customer_id)
    reason = _check_reason(reason)
    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        raise LoyaltyError("Points must be a non-zero whole number.", fields={"points": ["Must not be 0."]})
    _check_points(abs(points))
    account = _account_locked(customer_id=customer.pk)
    now = timezone.now()
    _expire_due(account, now=now)
    if points > 0:
        entry = _credit(account, type=EntryType.ADJUST, points=points, expires_at=_expires_at(loyalty_program_get(), now),
                        actor_label=actor.label, reference=reference, description=reason)
    else:
        entry = _debit(account, type=EntryType.ADJUST, points=-points, actor_label=actor.label, reference=reference,
                       description=reason)
    _save(account)
    _audit(actor=actor, action=AuditAction.LOYALTY_ADJUST, resource_id=account.pk,
           changes={"customer_id": customer.pk, "points": points, "reason": reason,
                    "balance": account.points_balance})
    return entry


@transaction.atomic
def loyalty_points_bonus(*, customer_id: int, points: int, reason: str, actor: Actor, reference: str = "",
                         validity_days: int | None = None) -> LoyaltyTransaction:
    """Give bonus points with a reason (campaign, birthday, service recovery). They count toward
    lifetime and rolling points and expire after ``validity_days`` (default: the program's)."""
    customer = customer_current(customer_id)
    reason = _check_reason(reason)
    _check_points(points)
    program = loyalty_program_get()
    account = _account_locked(customer_id=customer.pk)
    now = timezone.now()
    _expire_due(account, now=now)
    if validity_days is None:
        expires_at = _expires_at(program, now)
    else:  # 0: never expires
        expires_at = now + datetime.timedelta(days=validity_days) if validity_days else None
    entry = _credit(account, type=EntryType.BONUS, points=points, expires_at=expires_at, actor_label=actor.label,
                    reference=reference, description=reason)
    account.lifetime_points += points
    _tier_apply(account, program=program, rules=loyalty_tier_rules(), now=now)
    _save(account)
    _audit(actor=actor, action=AuditAction.LOYALTY_BONUS, resource_id=account.pk,
           changes={"customer_id": customer.pk, "points": points, "reason": reason,
                    "balance": account.points_balance})
    return entry


# --- scheduled jobs -----------------------------------------------------------------------------

def loyalty_points_expire(*, now: datetime.datetime | None = None) -> int:
    """Expire every due credit of the tenant (one transaction per account); returns the points
    expired. Safe to run at any time and concurrently with redemptions."""
    now = now or timezone.now()
    account_ids = list(LoyaltyTransaction.objects.filter(remaining__gt=0, expires_at__lte=now)
                       .values_list("account_id", flat=True).distinct().order_by("account_id"))
    total = 0
    for account_id in account_ids:
        with transaction.atomic():
            account = LoyaltyAccount.objects.select_for_update().get(pk=account_id)
            expired = _expire_due(account, now=now)
            if expired:
                _save(account)
                total += expired
    return total


def loyalty_tiers_recompute(*, now: datetime.datetime | None = None, chunk: int = 1000) -> int:
    """Re-evaluate every account's tier from its rolling spend or points (per the program's
    ``tier_basis`` over ``tier_window_days``): tiers go up and down. Returns how many changed."""
    now = now or timezone.now()
    program = loyalty_program_get()
    rules = loyalty_tier_rules()
    start = now - datetime.timedelta(days=program.tier_window_days)
    spend = (Order.objects.filter(customer_id=OuterRef("customer_id"), order_date__gte=start,
                                  status__in=counted_statuses()).order_by().values("customer_id")
             .annotate(s=Sum("total_amount")).values("s"))
    points = (LoyaltyTransaction.objects.filter(account_id=OuterRef("pk"), created_at__gte=start)
              .filter(_rolling_points_q()).order_by().values("account_id").annotate(s=Sum("points")).values("s"))
    accounts = (LoyaltyAccount.objects.order_by("id")
                .annotate(spend=Coalesce(Subquery(spend), Decimal(0)), points=Coalesce(Subquery(points), 0)))
    changed = 0
    batch: list[LoyaltyAccount] = []
    for account in accounts.iterator(chunk_size=chunk):
        tier = loyalty_tier_for(rules=rules, basis=program.tier_basis, spend=account.spend, points=account.points)
        if tier != account.tier:
            changed += 1
            account.tier_since = timezone.localdate(now)
        account.tier = tier
        account.rolling_spend = account.spend
        account.rolling_points = account.points
        account.tier_evaluated_at = now
        batch.append(account)
        if len(batch) >= chunk:
            LoyaltyAccount.objects.bulk_update(batch, ["tier", "tier_since", "tier_evaluated_at", "rolling_spend",
                                                       "rolling_points"])
            batch = []
    if batch:
        LoyaltyAccount.objects.bulk_update(batch, ["tier", "tier_since", "tier_evaluated_at", "rolling_spend",
                                                   "rolling_points"])
    return changed
