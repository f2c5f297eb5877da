"""Reads of loyalty: the program and its tier rules, a customer's account and ledger (writes are in
``loyalty.services``). Reads never write: the program and its rules are created with the tenant
(``loyalty.services.loyalty_defaults_create``)."""

from __future__ import annotations

import datetime
import re
from decimal import ROUND_DOWN, Decimal

from django.db.models import Count, DateTimeField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from customers.models import Customer, Order
from customers.selectors import counted_statuses, customer_get
from customers.selectors.tenant import tenant_setting
from customers.services.privacy import row_dict
from loyalty.models import (
    LoyaltyAccount,
    LoyaltyProgram,
    LoyaltyTierRule,
    LoyaltyTransaction,
    CrossPromoChain,
    Offer,
    Event,
    EventRegistration,
    Partner,
    PartnerApiKey,
    PartnerSettlement,
    Referral,
    ReferralCode,
    Reward,
    RewardRedemption,
    Tier,
    Voucher,
    VoucherKind,
)

#: Rough units of each currency per US dollar, only to derive sensible default rates and
#: thresholds for a new program (staff edit them in the admin or the API). Unknown: 1.
CURRENCY_SCALE = {"USD": 1, "EUR": 1, "ARS": 1000, "BRL": 5, "MXN": 20, "CLP": 1000, "COP": 4000, "PEN": 4,
                  "UYU": 40, "PYG": 7500, "BOB": 7, "GTQ": 8, "CRC": 500, "DOP": 60}
#: Default tiers in US-dollar-equivalent yearly spend (or points, one point per dollar-equivalent)
#: and their earning multipliers.
DEFAULT_TIERS = (
    (Tier.BRONZE, 0, 0, Decimal("1.00")),
    (Tier.SILVER, 1, 500, Decimal("1.25")),
    (Tier.GOLD, 2, 2000, Decimal("1.50")),
    (Tier.PLATINUM, 3, 5000, Decimal("2.00")),
)


def tenant_currency() -> str:
    """The currency of the tenant whose schema is in use (USD outside one)."""
    return (tenant_setting("currency") or "USD").upper()


def loyalty_defaults(*, currency: str) -> tuple[LoyaltyProgram, list[LoyaltyTierRule]]:
    """A new program and its tier rules for ``currency`` (unsaved): about one point per US dollar
    spent, and silver, gold and platinum at about 500, 2,000 and 5,000 dollars of rolling yearly
    spend."""
    scale = Decimal(CURRENCY_SCALE.get(currency.upper(), 1))
    rate = max((Decimal(1) / scale).quantize(Decimal("0.0001"), rounding=ROUND_DOWN), Decimal("0.0001"))
    rules = [LoyaltyTierRule(tier=tier, rank=rank, min_spend=Decimal(usd) * scale, min_points=usd,
                             multiplier=multiplier) for tier, rank, usd, multiplier in DEFAULT_TIERS]
    return LoyaltyProgram(points_per_currency_unit=rate), rules


def loyalty_program_get() -> LoyaltyProgram:
    """The tenant's program (created with the tenant; for a schema that has none yet, the
    defaults it would get, unsaved)."""
    program = LoyaltyProgram.objects.order_by("id").first()
    return program if program is not None else loyalty_defaults(currency=tenant_currency())[0]


def loyalty_tier_rules() -> list[LoyaltyTierRule]:
    """The tier rules, bronze first (the defaults, unsaved, where there are none yet)."""
    rules = list(LoyaltyTierRule.objects.order_by("rank"))
    return rules or loyalty_defaults(currency=tenant_currency())[1]


def loyalty_account_for_customer(*, customer_id) -> tuple[Customer, LoyaltyAccount]:
    """The customer's account; an unsaved zero account when it has none yet (reads never write)."""
    customer = customer_get(customer_id=customer_id)
    account = LoyaltyAccount.objects.filter(customer_id=customer.pk).first()
    return customer, account or LoyaltyAccount(customer=customer)


def loyalty_ledger(*, customer_id) -> QuerySet[LoyaltyTransaction]:
    """The customer's points ledger, newest first (empty when there is no account)."""
    customer = customer_get(customer_id=customer_id)
    return LoyaltyTransaction.objects.filter(account__customer_id=customer.pk).order_by("-created_at", "-id")


def loyalty_tier_rule_list() -> QuerySet[LoyaltyTierRule]:
    """The stored tier rules, bronze first (the API's list)."""
    return LoyaltyTierRule.objects.order_by("rank")


def loyalty_account_summary(*, customer_id) -> LoyaltyAccount | None:
    """The customer's account (None without one): the Customer 360's ``loyalty`` (a top-level 360
    section registered with customers)."""
    return LoyaltyAccount.objects.filter(customer_id=customer_id).first()


def loyalty_export_data(*, customer_id) -> dict | None:
    """The customer's account, ledger and vouchers, every column, for a data-subject export (None
    without any; registered with customers as the ``loyalty`` export section)."""
    account = LoyaltyAccount.objects.filter(customer_id=customer_id).first()
    vouchers = [row_dict(voucher) for voucher in Voucher.objects.filter(customer_id=customer_id).order_by("id")]
    if account is None and not vouchers:
        return None
    return {"account": row_dict(account) if account is not None else None,
            "transactions": [row_dict(entry) for entry in LoyaltyTransaction.objects.filter(account=account)
                             .order_by("created_at", "id")] if account is not None else [],
            "vouchers": vouchers}


# --- the coalition ----------------------------------------------------------------------------------

def voucher_code_normalize(code: str) -> str:
    """What people type (lowercase, dashes, spaces) as the stored code."""
    return re.sub(r"[\s-]+", "", str(code or "")).upper()


def voucher_discount(voucher: Voucher, amount: Decimal) -> Decimal:
    """What the voucher takes off a purchase of ``amount`` (a free item: 0, the item is the gift)."""
    if voucher.kind == VoucherKind.FIXED_AMOUNT:
        return min(voucher.value, amount)
    if voucher.kind == VoucherKind.PERCENT:
        return (amount * voucher.value / 100).quantize(Decimal("0.01"))
    return Decimal(0)


def voucher_refusal(voucher: Voucher | None, *, amount: Decimal, partner: Partner | None,
                    now: datetime.datetime) -> str:
    """Why the voucher cannot be used for ``amount`` at ``partner`` ("" when it can)."""
    if voucher is None:
        return "not_found"
    if voucher.status != Voucher.Status.ISSUED:
        return voucher.status  # redeemed, expired or void
    if now < voucher.valid_from:
        return "not_yet_valid"
    if now >= voucher.valid_until:
        return "expired"
    if voucher.partner_id is not None and (partner is None or partner.pk != voucher.partner_id):
        return "foreign_partner"
    if amount < voucher.min_spend:
        return "under_minimum"
    return ""


def partner_list() -> QuerySet[Partner]:
    return Partner.objects.order_by("name", "id")


def partner_bound_to_key(*, api_key_id: int | None) -> int | None:
    """The id of the partner an API key is bound to (None: not bound, it sees the whole program)."""
    if api_key_id is None:
        return None
    return PartnerApiKey.objects.filter(api_key_id=api_key_id).values_list("partner_id", flat=True).first()


def partner_slug_bound_to_key(*, api_key_id: int) -> str | None:
    """The slug of the partner an API key is bound to (registered as ``cdp.registry``'s
    ``api_key_partner`` resolver: the API's permission check and customers' ingest ask it)."""
    return PartnerApiKey.objects.filter(api_key_id=api_key_id).values_list("partner__slug", flat=True).first()


def partner_by_slug(*, slug: str) -> Partner | None:
    return Partner.objects.filter(slug=str(slug or "").strip().lower()).first()


def reward_list(*, partner_id: int | None = None) -> QuerySet[Reward]:
    """The rewards catalog (a partner-bound caller: its partner's rewards only)."""
    rewards = Reward.objects.select_related("partner").order_by("points_cost", "id")
    return rewards if partner_id is None else rewards.filter(partner_id=partner_id)


def voucher_list(*, partner_id: int | None = None) -> QuerySet[Voucher]:
    """Vouchers, newest first (a partner-bound caller: those valid at its partner only)."""
    vouchers = Voucher.objects.select_related("partner").order_by("-created_at", "-id")
    return vouchers if partner_id is None else vouchers.filter(partner_id=partner_id)


def redemption_list(*, partner_id: int | None = None) -> QuerySet[RewardRedemption]:
    """Rewards redeemed, newest first (a partner-bound caller: its partner's only)."""
    redemptions = RewardRedemption.objects.select_related("voucher", "reward").order_by("-created_at", "-id")
    return redemptions if partner_id is None else redemptions.filter(partner_id=partner_id)


def voucher_check(*, code: str, amount: Decimal, partner: Partner | None,
                  now: datetime.datetime | None = None) -> dict:
    """Whether the voucher can be used for ``amount`` at ``partner`` (the point-of-sale check): one
    indexed read, nothing written. ``{"valid", "reason", "discount", "voucher"}``."""
    voucher = Voucher.objects.filter(code=voucher_code_normalize(code)).first()
    reason = voucher_refusal(voucher, amount=amount, partner=partner, now=now or timezone.now())
    return {"valid": not reason, "reason": reason or None,
            "discount": voucher_discount(voucher, amount) if not reason else None,
            "voucher": voucher if voucher is not None and reason != "foreign_partner" else None}


def referral_list() -> QuerySet[Referral]:
    """Referrals, newest first."""
    return Referral.objects.order_by("-created_at", "-id")


def event_list(*, partner_id: int | None = None) -> QuerySet[Event]:
    """Events, soonest first (a partner-bound caller: those its partner hosts)."""
    events = Event.objects.select_related("partner").order_by("starts_at", "id")
    return events if partner_id is None else events.filter(partner_id=partner_id)


def event_registrations(*, event_id) -> QuerySet[EventRegistration]:
    """An event's registrations, in the order they asked for a seat."""
    return EventRegistration.objects.filter(event_id=event_id).order_by("queued_at", "id")


def event_reminders_due(*, now: datetime.datetime | None = None,
                        partner_id: int | None = None) -> QuerySet[EventRegistration]:
    """Registered members of published events starting within their ``reminder_hours`` who were
    not reminded yet (what a notifier sends; it records ``reminded_at``)."""
    now = now or timezone.now()
    due = (EventRegistration.objects.select_related("event")
           .filter(status=EventRegistration.Status.REGISTERED, reminded_at__isnull=True,
                   event__status=Event.Status.PUBLISHED, event__starts_at__gt=now)
           .filter(event__starts_at__lte=ExpressionWrapper(
               Value(now) + Value(datetime.timedelta(hours=1)) * F("event__reminder_hours"),
               output_field=DateTimeField()))
           .order_by("event__starts_at", "id"))
    return due if partner_id is None else due.filter(event__partner_id=partner_id)


def chain_list() -> QuerySet[CrossPromoChain]:
    return CrossPromoChain.objects.select_related("source_partner", "target_partner").order_by("name", "id")


def cross_promo_matrix(*, since: datetime.date | None = None, until: datetime.date | None = None) -> list[dict]:
    """The Win-Win matrix: per (source partner, target partner), the cross-promotion vouchers
    issued (triggers, by the day they were issued, between ``since`` and ``until`` inclusive) and
    those redeemed at the target in time (conversions: a voucher is only used at its partner and
    before it expires), with the conversion rate. One grouped, indexed read."""
    vouchers = Voucher.objects.filter(chain__isnull=False)
    if since is not None:
        vouchers = vouchers.filter(created_at__date__gte=since)
    if until is not None:
        vouchers = vouchers.filter(created_at__date__lte=until)
    rows = (vouchers.values(source_partner=F("chain__source_partner__slug"), target_partner=F("partner__slug"))
            .annotate(triggers=Count("id"),
                      conversions=Count("id", filter=Q(status=Voucher.Status.REDEEMED,
                                                       redeemed_partner=F("partner"),
                                                       redeemed_at__lte=F("valid_until"))))
            .order_by("source_partner", "target_partner"))
    return [{**row, "conversion_rate": (Decimal(row["conversions"]) / row["triggers"]).quantize(Decimal("0.0001"))
             if row["triggers"] else Decimal(0)} for row in rows]


def partner_settlement_figures(*, start: datetime.date, end: datetime.date) -> dict[int, dict]:
    """Per partner id, for entries and redemptions from ``start`` (inclusive) to ``end``
    (exclusive): ``points_earned`` and ``points_funded`` (the ledger's entries at the partner:
    earns and their reversals) and ``points_redeemed`` (rewards redeemed whose voucher is the
    partner's, or, valid anywhere, was used at it). Two grouped reads on indexed columns."""
    figures: dict[int, dict] = {}
    entries = (LoyaltyTransaction.objects.filter(partner__isnull=False, created_at__gte=start, created_at__lt=end)
               .values("partner_id").annotate(earned=Sum("points"), funded=Sum("partner_funded")).order_by())
    for row in entries:
        figures.setdefault(row["partner_id"], {}).update(points_earned=row["earned"] or 0,
                                                        points_funded=row["funded"] or 0)
    redeemed = (RewardRedemption.objects.filter(created_at__gte=start, created_at__lt=end)
                .annotate(at=Coalesce("partner", "voucher__redeemed_partner"))
                .filter(at__isnull=False).values("at").annotate(points=Sum("points")).order_by())
    for row in redeemed:
        figures.setdefault(row["at"], {})["points_redeemed"] = row["points"] or 0
    return figures


def partner_settlement_list(*, partner_id: int | None = None) -> QuerySet[PartnerSettlement]:
    """Stored statements, newest period first (a partner-bound caller: its partner's only)."""
    statements = PartnerSettlement.objects.select_related("partner").order_by("-period_start", "partner__name", "id")
    return statements if partner_id is None else statements.filter(partner_id=partner_id)


def member_current(*, customer_id: int) -> bool:
    """Whether the customer may use the member page: exists, not merged away, not erased."""
    return Customer.objects.filter(pk=customer_id, merged_into__isnull=True, is_pseudonymized=False).exists()


def member_overview(*, customer_id: int, now: datetime.datetime | None = None, history: int = 20) -> dict:
    """What the member page shows one member: the account (an unsaved zero one without any),
    the tier and the progress to the next one (by the program's tier basis: rolling spend or
    points, as the nightly recomputation left them), the vouchers they can use, their referral
    code and the newest ``history`` ledger entries."""
    now = now or timezone.now()
    program = loyalty_program_get()
    account = LoyaltyAccount.objects.filter(customer_id=customer_id).first() or LoyaltyAccount(customer_id=customer_id)
    rules = loyalty_tier_rules()
    current = next((rule for rule in rules if rule.tier == account.tier), rules[0])
    following = next((rule for rule in rules if rule.rank > current.rank), None)
    progress = None
    if following is not None:
        by_spend = program.tier_basis == LoyaltyProgram.TierBasis.SPEND
        reached = Decimal(account.rolling_spend) if by_spend else Decimal(account.rolling_points)
        needed = Decimal(following.min_spend) if by_spend else Decimal(following.min_points)
        percent = 100 if needed <= 0 else min(100, int(reached * 100 / needed))
        progress = {"tier": following.tier, "label": following.get_tier_display(), "basis": program.tier_basis,
                    "reached": reached, "needed": needed, "missing": max(Decimal(0), needed - reached),
                    "percent": percent}
    vouchers = list(Voucher.objects.filter(customer_id=customer_id, status=Voucher.Status.ISSUED,
                                           valid_until__gt=now).select_related("partner")
                    .order_by("valid_until", "id"))
    referral = ReferralCode.objects.filter(customer_id=customer_id).first()
    entries = list(LoyaltyTransaction.objects.filter(account_id=account.pk).order_by("-created_at", "-id")[:history]
                   if account.pk else [])
    return {"program": program, "account": account, "tier": current, "next": progress, "vouchers": vouchers,
            "referral_code": referral.code if referral else "", "history": entries}


def offer_list(*, partner_id: int | None = None) -> QuerySet[Offer]:
    """Offers with the vouchers each issued (a partner-bound caller: its partner's only)."""
    offers = (Offer.objects.select_related("partner").annotate(issued=Count("vouchers"))
              .order_by("-starts_at", "id"))
    return offers if partner_id is None else offers.filter(partner_id=partner_id)


def program_report(*, since: datetime.date, until: datetime.date, months: int = 12) -> dict:
    """The loyalty program's figures between ``since`` and ``until`` (inclusive): members and
    active members (earned in the period), points issued (earned, bonus, positive adjustments),
    redeemed and expired, the redemption and breakage rates (of the points issued), the points
    liability now (balances, in points and money at the program's point value), member against
    non-member revenue (the tenant's counted sales), the partner leaderboard, and per month (the
    last ``months``) the points issued and redeemed, for the chart. A few grouped reads."""
    start = datetime.datetime.combine(since, datetime.time.min, tzinfo=timezone.get_current_timezone())
    end = datetime.datetime.combine(until + datetime.timedelta(days=1), datetime.time.min,
                                    tzinfo=timezone.get_current_timezone())
    program = loyalty_program_get()
    entries = LoyaltyTransaction.objects.filter(created_at__gte=start, created_at__lt=end)
    issued_q = Q(type__in=[LoyaltyTransaction.Type.EARN, LoyaltyTransaction.Type.BONUS]) | Q(
        type=LoyaltyTransaction.Type.ADJUST, points__gt=0)
    sums = entries.aggregate(
        issued=Coalesce(Sum("points", filter=issued_q), 0),
        redeemed=Coalesce(Sum("points", filter=Q(type=LoyaltyTransaction.Type.REDEEM)), 0),
        expired=Coalesce(Sum("points", filter=Q(type=LoyaltyTransaction.Type.EXPIRE)), 0),
        active=Count("account", filter=Q(type=LoyaltyTransaction.Type.EARN), distinct=True))
    issued, redeemed, expired = sums["issued"], -sums["redeemed"], -sums["expired"]
    accounts = LoyaltyAccount.objects.aggregate(members=Count("id"), liability=Coalesce(Sum("points_balance"), 0))
    sales = Order.objects.filter(order_date__gte=start, order_date__lt=end, status__in=counted_statuses())
    member = Exists(LoyaltyAccount.objects.filter(customer_id=OuterRef("customer_id")))
    revenue = sales.aggregate(members=Coalesce(Sum("total_amount", filter=Q(member)), Decimal(0)),
                              others=Coalesce(Sum("total_amount", filter=~Q(member)), Decimal(0)))
    points_at = dict(entries.filter(partner__isnull=False).values_list("partner__slug").annotate(Sum("points"))
                     .order_by())
    names = dict(Partner.objects.values_list("slug", "name"))
    leaderboard = [{"partner": row["partner"], "name": names.get(row["partner"], row["partner"]),
                    "orders": row["orders"], "revenue": row["revenue"], "points": points_at.get(row["partner"], 0)}
                   for row in sales.exclude(partner="").values("partner")
                   .annotate(orders=Count("id"), revenue=Sum("total_amount")).order_by("-revenue", "partner")[:20]]
    first_month = (until.replace(day=1) - datetime.timedelta(days=31 * (months - 1))).replace(day=1)
    monthly = (LoyaltyTransaction.objects
               .filter(created_at__gte=datetime.datetime.combine(first_month, datetime.time.min,
                                                                 tzinfo=timezone.get_current_timezone()),
                       created_at__lt=end)
               .annotate(month=TruncMonth("created_at")).values("month")
               .annotate(issued=Coalesce(Sum("points", filter=issued_q), 0),
                         redeemed=Coalesce(Sum("points", filter=Q(type=LoyaltyTransaction.Type.REDEEM)), 0))
               .order_by("month"))
    point_value = Decimal(program.point_value)
    return {
        "since": since, "until": until, "members": accounts["members"], "active_members": sums["active"],
        "points_issued": issued, "points_redeemed": redeemed, "points_expired": expired,
        "redemption_rate": _rate(redeemed, issued), "breakage_rate": _rate(expired, issued),
        "liability_points": accounts["liability"], "point_value": point_value,
        "liability_amount": (accounts["liability"] * point_value).quantize(Decimal("0.01")),
        "member_revenue": revenue["members"], "non_member_revenue": revenue["others"],
        "partners": leaderboard,
        "months": [{"month": row["month"].date().replace(day=1), "issued": row["issued"],
                    "redeemed": -row["redeemed"]} for row in monthly],
    }


def _rate(part: int, whole: int) -> Decimal:
    return (Decimal(part) / whole).quantize(Decimal("0.0001")) if whole else Decimal(0)
