"""Loyalty: the program's settings, tier rules, one account per customer and its points ledger.

These models moved here from ``customers`` (migration ``loyalty.0001``, state only): their tables
keep the names they had there (``Meta.db_table``), so no data moved.

The ledger is the truth; ``LoyaltyAccount.points_balance`` is its running sum. Earned and bonus
points carry ``remaining`` (what is left to redeem or expire) so that redemption can spend the
soonest-expiring points first (FIFO by ``expires_at``).
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from cdp.models import TimeStampedModel
from customers.models import Customer, Order


class Tier(models.TextChoices):
    BRONZE = "bronze", _("Bronze")
    SILVER = "silver", _("Silver")
    GOLD = "gold", _("Gold")
    PLATINUM = "platinum", _("Platinum")


class LoyaltyProgram(TimeStampedModel):
    """The tenant's program settings (one row; the loyalty services create it with defaults)."""

    class TierBasis(models.TextChoices):
        SPEND = "spend", _("Rolling spend")
        POINTS = "points", _("Rolling points earned")

    name = models.CharField(max_length=100, default="Loyalty")
    is_active = models.BooleanField(default=True)
    points_per_currency_unit = models.DecimalField(max_digits=10, decimal_places=4, default=1)
    points_validity_days = models.PositiveIntegerField(default=365, help_text="0 means points never expire.")
    tier_basis = models.CharField(max_length=10, choices=TierBasis.choices, default=TierBasis.SPEND)
    tier_window_days = models.PositiveIntegerField(default=365, help_text="Rolling window for tier evaluation.")
    # db_default: rows written by code that predates these columns (the 0009 data migration) get them.
    referral_referrer_points = models.PositiveIntegerField(
        default=0, db_default=0, help_text="Bonus points for a member whose referral made a first counted purchase (0: off).")
    referral_referred_points = models.PositiveIntegerField(
        default=0, db_default=0, help_text="Bonus points for the referred customer's first counted purchase (0: none).")
    referral_monthly_cap = models.PositiveIntegerField(
        default=10, db_default=10, help_text="Rewarded referrals per referrer in 30 days; more are held for review.")
    point_value = models.DecimalField(
        max_digits=10, decimal_places=4, default="0.01", db_default="0.01",
        help_text="What one point is worth in the tenant's currency: partner settlements and the points "
                  "liability are priced with it.")

    class Meta:
        db_table = "customers_loyaltyprogram"
        verbose_name = "loyalty program"

    def __str__(self) -> str:
        return self.name


class LoyaltyTierRule(models.Model):
    """A tier's thresholds (reach either) and its earning multiplier."""

    tier = models.CharField(max_length=10, choices=Tier.choices, unique=True)
    rank = models.PositiveSmallIntegerField(unique=True, help_text="0 = bronze … 3 = platinum.")
    min_spend = models.DecimalField(max_digits=15, decimal_places=2, default=0)
    min_points = models.PositiveIntegerField(default=0)
    multiplier = models.DecimalField(max_digits=5, decimal_places=2, default=1)
    benefits = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "customers_loyaltytierrule"
        ordering = ["rank"]
        constraints = [models.CheckConstraint(condition=Q(multiplier__gt=0), name="tierrule_multiplier_gt_0")]

    def __str__(self) -> str:
        return self.get_tier_display()


class LoyaltyAccount(TimeStampedModel):
    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="loyalty_account")
    points_balance = models.IntegerField(default=0)
    lifetime_points = models.IntegerField(default=0)
    points_redeemed = models.IntegerField(default=0)
    points_expired = models.IntegerField(default=0)
    tier = models.CharField(max_length=10, choices=Tier.choices, default=Tier.BRONZE)
    tier_since = models.DateField(null=True, blank=True)
    tier_evaluated_at = models.DateTimeField(null=True, blank=True)
    rolling_spend = models.DecimalField(max_digits=15, decimal_places=2, default=0)
    rolling_points = models.IntegerField(default=0)

    class Meta:
        db_table = "customers_loyaltyaccount"
        ordering = ["-points_balance", "id"]
        constraints = [models.CheckConstraint(condition=Q(points_balance__gte=0), name="loyalty_balance_gte_0")]
        indexes = [models.Index(fields=["tier"], name="loyalty_account_tier_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.points_balance} pts ({self.tier})"


class LoyaltyTransaction(models.Model):
    class Type(models.TextChoices):
        EARN = "earn", _("Earn")
        REDEEM = "redeem", _("Redeem")
        EXPIRE = "expire", _("Expire")
        ADJUST = "adjust", _("Adjust")
        BONUS = "bonus", _("Bonus")

    # Indexed by loyalty_txn_account_idx (account, -created_at), which serves lookups by account too.
    account = models.ForeignKey(LoyaltyAccount, on_delete=models.CASCADE, related_name="transactions",
                                db_index=False)
    type = models.CharField(max_length=10, choices=Type.choices)
    points = models.IntegerField(help_text="Signed: positive credits, negative debits.")
    remaining = models.IntegerField(default=0, help_text="Credits not yet redeemed or expired (FIFO).")
    expires_at = models.DateTimeField(null=True, blank=True)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reference = models.CharField(max_length=255, blank=True)
    description = models.CharField(max_length=255, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_by = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # The coalition partner the order was placed at (its earn and the reversal of it), and the
    # points of this entry that partner funds (its funding share; negative on a reversal). The
    # partner settlement sums these.
    partner = models.ForeignKey("Partner", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                db_index=False)
    partner_funded = models.IntegerField(default=0, db_default=0,
                                         help_text="Points of this entry funded by the partner (signed).")

    class Meta:
        db_table = "customers_loyaltytransaction"
        ordering = ["-created_at", "-id"]
        constraints = [
            # Points earn once per order.
            models.UniqueConstraint(fields=["order"], condition=Q(type="earn"), name="uniq_loyalty_earn_per_order"),
            models.CheckConstraint(condition=Q(remaining__gte=0), name="loyalty_txn_remaining_gte_0"),
            models.CheckConstraint(
                condition=Q(remaining=0) | (Q(points__gt=0) & Q(remaining__lte=F("points"))),
                name="loyalty_txn_remaining_within_points",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="loyalty_txn_account_idx"),
            models.Index(fields=["expires_at"], condition=Q(remaining__gt=0), name="loyalty_txn_expiring_idx"),
            # The partner settlement: a partner's entries by time (most entries have no partner).
            models.Index(fields=["partner", "created_at"], condition=Q(partner__isnull=False),
                         name="loyalty_txn_partner_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.points:+d}"


# --- the coalition (seed 002): partners, the rewards catalog, vouchers and redemptions ------------

class Partner(TimeStampedModel):
    """A business of the coalition (seed ``businesses``): members earn and spend at it."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        ENDED = "ended", "Ended"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    category = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=32, blank=True)
    funding_share = models.DecimalField(
        max_digits=5, decimal_places=2, default=100,
        help_text="Percent of the points earned at this partner that the partner funds (0 to 100).")
    earn_multiplier = models.DecimalField(max_digits=5, decimal_places=2, default=1,
                                          help_text="Points earned at this partner are multiplied by this.")

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(funding_share__gte=0) & Q(funding_share__lte=100),
                                   name="partner_funding_share_0_100"),
            models.CheckConstraint(condition=Q(earn_multiplier__gt=0), name="partner_earn_multiplier_gt_0"),
        ]

    def __str__(self) -> str:
        return self.name


class PartnerApiKey(models.Model):
    """An API key of the tenant bound to one partner: it sees only that partner's rewards, vouchers
    and redemptions. The key lives in the public schema (``tenants.ApiKey``), hence an id, not a
    foreign key across schemas."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="api_keys")
    api_key_id = models.BigIntegerField(unique=True)
    created_by = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"key {self.api_key_id} → {self.partner_id}"


class VoucherKind(models.TextChoices):
    FIXED_AMOUNT = "fixed_amount", "Fixed amount"
    PERCENT = "percent", "Percent off"
    FREE_ITEM = "free_item", "Free item"


class Reward(TimeStampedModel):
    """An entry of the rewards catalog: so many points buy a voucher with these terms."""

    name = models.CharField(max_length=200)
    description = models.CharField(max_length=500, blank=True)
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="rewards",
                                help_text="Where its vouchers are valid (empty: at every partner).")
    points_cost = models.PositiveIntegerField()
    kind = models.CharField(max_length=12, choices=VoucherKind.choices, default=VoucherKind.FIXED_AMOUNT)
    value = models.DecimalField(max_digits=12, decimal_places=2, default=0,
                                help_text="Money off (fixed amount) or percent off; unused for a free item.")
    item_name = models.CharField(max_length=200, blank=True)
    min_spend = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    validity_days = models.PositiveIntegerField(default=30)
    per_customer_limit = models.PositiveIntegerField(default=0, help_text="0: no limit.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["points_cost", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(points_cost__gt=0), name="reward_points_cost_gt_0"),
            models.CheckConstraint(condition=Q(value__gte=0) & (~Q(kind="percent") | Q(value__lte=100)),
                                   name="reward_value_valid"),
            models.CheckConstraint(condition=Q(validity_days__gt=0), name="reward_validity_days_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.points_cost} pts)"


class Voucher(TimeStampedModel):
    """A customer's voucher (seed ``coupons``; not the platform's billing coupons). It keeps its own
    terms (copied from its reward or offer), so that editing a reward never changes issued ones."""

    class Status(models.TextChoices):
        ISSUED = "issued", "Issued"
        REDEEMED = "redeemed", "Redeemed"
        EXPIRED = "expired", "Expired"
        VOID = "void", "Void"

    class Origin(models.TextChoices):
        REWARD = "reward", "Reward"
        OFFER = "offer", "Offer"
        CROSS_PROMO = "cross_promo", "Cross-promotion"
        REFERRAL = "referral", "Referral"
        MANUAL = "manual", "Manual"

    code = models.CharField(max_length=32, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="vouchers")
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="vouchers",
                                help_text="Where it is valid (empty: at every partner).")
    kind = models.CharField(max_length=12, choices=VoucherKind.choices)
    value = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    item_name = models.CharField(max_length=200, blank=True)
    min_spend = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ISSUED)
    origin = models.CharField(max_length=12, choices=Origin.choices)
    reward = models.ForeignKey(Reward, null=True, blank=True, on_delete=models.SET_NULL, related_name="vouchers")
    redeemed_at = models.DateTimeField(null=True, blank=True)
    redeemed_partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    redeemed_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    redeemed_reference = models.CharField(max_length=255, blank=True)
    chain = models.ForeignKey("CrossPromoChain", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="vouchers", help_text="The cross-promotion that issued it.")
    source_order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                     help_text="The purchase that triggered it (cross-promotion).")
    offer = models.ForeignKey("Offer", null=True, blank=True, on_delete=models.PROTECT, related_name="vouchers",
                              help_text="The partner offer that issued it.")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A purchase triggers a chain once.
            models.UniqueConstraint(fields=["chain", "source_order"], name="uniq_voucher_chain_order"),
            # An offer gives a member one voucher.
            models.UniqueConstraint(fields=["offer", "customer"], condition=Q(offer__isnull=False),
                                    name="uniq_voucher_offer_customer"),
            models.CheckConstraint(condition=Q(value__gte=0) & (~Q(kind="percent") | Q(value__lte=100)),
                                   name="voucher_value_valid"),
            models.CheckConstraint(condition=Q(valid_until__gt=F("valid_from")), name="voucher_validity_valid"),
            models.CheckConstraint(condition=~Q(status="redeemed") | Q(redeemed_at__isnull=False),
                                   name="voucher_redeemed_has_time"),
        ]
        indexes = [
            models.Index(fields=["customer", "status"], name="voucher_customer_status_idx"),
            models.Index(fields=["partner", "status"], name="voucher_partner_status_idx"),
        ]

    def __str__(self) -> str:
        return self.code


class RewardRedemption(models.Model):
    """Points turned into a voucher: the ledger's redeem entry and the voucher, written together.
    ``idempotency_key`` (per principal) makes a retried or double-submitted request answer with
    the first one's redemption instead of spending again."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="redemptions")
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="redemptions")
    points = models.PositiveIntegerField()
    ledger_entry = models.OneToOneField(LoyaltyTransaction, on_delete=models.PROTECT, related_name="+")
    voucher = models.OneToOneField(Voucher, on_delete=models.PROTECT, related_name="redemption")
    principal = models.CharField(max_length=64, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True)
    request_hash = models.CharField(max_length=64, blank=True)
    created_by = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["principal", "idempotency_key"], condition=~Q(idempotency_key=""),
                                    name="uniq_redemption_idempotency_key"),
        ]
        indexes = [models.Index(fields=["customer", "reward"], name="redemption_customer_reward_idx")]

    def __str__(self) -> str:
        return f"{self.reward_id} for {self.customer_id}"



# --- referrals (seed referral_codes) ----------------------------------------------------------------

class ReferralCode(models.Model):
    """A member's referral code (issued on request, one per customer)."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="referral_code")
    code = models.CharField(max_length=16, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.code


class Referral(TimeStampedModel):
    """A customer whose first counted order carried a member's referral code. Rewarded at once, or
    held for review (self-referral: same person by e-mail, phone, document or address; over the
    referrer's monthly cap) until staff approve or reject it."""

    class Status(models.TextChoices):
        REWARDED = "rewarded", "Rewarded"
        REVIEW = "review", "Held for review"
        REJECTED = "rejected", "Rejected"

    referrer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    referred = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="referral")
    code = models.CharField(max_length=16)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices)
    reason = models.CharField(max_length=32, blank=True, help_text="Why it was held: self_referral, monthly_cap.")
    referrer_entry = models.ForeignKey(LoyaltyTransaction, null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+")
    referred_entry = models.ForeignKey(LoyaltyTransaction, null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+")
    reviewed_by = models.CharField(max_length=255, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["referrer", "status", "created_at"], name="referral_referrer_idx"),
                   models.Index(fields=["status"], condition=Q(status="review"), name="referral_review_idx")]

    def __str__(self) -> str:
        return f"{self.referrer_id} → {self.referred_id} ({self.status})"


# --- community events (seed events, event_registrations) -------------------------------------------

class Event(TimeStampedModel):
    """A community event hosted by a partner (or the program): members register up to the capacity,
    then join the waitlist; checking in grants ``checkin_points``."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        CANCELLED = "cancelled", "Cancelled"

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="events",
                                help_text="The host (empty: the program itself).")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    location = models.CharField(max_length=255, blank=True)
    capacity = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    checkin_points = models.PositiveIntegerField(default=0)
    reminder_hours = models.PositiveIntegerField(default=24, help_text="Remind registered members this many "
                                                                       "hours before the start.")

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gt=0), name="event_capacity_gt_0"),
            models.CheckConstraint(condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                                   name="event_ends_after_start"),
        ]
        indexes = [models.Index(fields=["starts_at"], condition=Q(status="published"), name="event_published_idx")]

    def __str__(self) -> str:
        return self.title


class EventRegistration(TimeStampedModel):
    class Status(models.TextChoices):
        REGISTERED = "registered", "Registered"
        WAITLISTED = "waitlisted", "Waitlisted"
        CANCELLED = "cancelled", "Cancelled"
        ATTENDED = "attended", "Attended"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="registrations")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="event_registrations")
    status = models.CharField(max_length=10, choices=Status.choices)
    queued_at = models.DateTimeField(help_text="When it (last) asked for a seat: the waitlist's order.")
    checked_in_at = models.DateTimeField(null=True, blank=True)
    points_entry = models.ForeignKey(LoyaltyTransaction, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["queued_at", "id"]
        constraints = [models.UniqueConstraint(fields=["event", "customer"], name="uniq_event_registration")]
        indexes = [models.Index(fields=["event", "status", "queued_at"], name="event_registration_queue_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} @ {self.event_id} ({self.status})"



# --- cross-promotion (seed cross_promo_chains) -------------------------------------------------------

class CrossPromoChain(TimeStampedModel):
    """"A purchase at partner A of at least ``min_amount`` issues a voucher for partner B, valid
    ``validity_days``." The voucher's terms are the chain's."""

    name = models.CharField(max_length=200)
    source_partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="chains_out")
    target_partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="chains_in")
    min_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    kind = models.CharField(max_length=12, choices=VoucherKind.choices, default=VoucherKind.FIXED_AMOUNT)
    value = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    item_name = models.CharField(max_length=200, blank=True)
    min_spend = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    validity_days = models.PositiveIntegerField(default=30)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(source_partner=F("target_partner")), name="chain_partners_differ"),
            models.CheckConstraint(condition=Q(validity_days__gt=0), name="chain_validity_days_gt_0"),
            models.CheckConstraint(condition=Q(value__gte=0) & (~Q(kind="percent") | Q(value__lte=100)),
                                   name="chain_value_valid"),
        ]
        indexes = [models.Index(fields=["source_partner"], condition=Q(is_active=True), name="chain_active_idx")]

    def __str__(self) -> str:
        return self.name


# --- partner settlement (seed 002: a partner funds the points earned at it, the program pays for
# the points redeemed at it) ---------------------------------------------------------------------

class PartnerSettlement(models.Model):
    """One partner's statement for one period (a calendar month): the points it funded (its
    funding share of what members earned at it, less what was given back), the points members
    redeemed at it, and the balance in points and money (``point_value`` of the program when it
    was computed). Positive ``net_points``: the partner owes the program; negative: it is owed.
    Recomputed until the period is closed (``loyalty.services.settlement``)."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="settlements")
    period_start = models.DateField()
    period_end = models.DateField(help_text="Exclusive: the first day of the next period.")
    points_earned = models.IntegerField(default=0, help_text="Points members earned at the partner (net).")
    points_funded = models.IntegerField(default=0)
    points_redeemed = models.IntegerField(default=0)
    net_points = models.IntegerField(default=0, help_text="Funded less redeemed: > 0 the partner owes the program.")
    point_value = models.DecimalField(max_digits=10, decimal_places=4)
    amount = models.DecimalField(max_digits=15, decimal_places=2,
                                 help_text="net_points × point_value: > 0 the partner owes, < 0 it is owed.")
    currency = models.CharField(max_length=3)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["-period_start", "partner_id"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "period_start"], name="uniq_settlement_partner_period"),
            models.CheckConstraint(condition=Q(period_end__gt=F("period_start")), name="settlement_period_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.period_start:%Y-%m}"


# --- the member page (/member/): one-time sign-in links --------------------------------------------

class MemberLink(models.Model):
    """A one-time sign-in link to the member page, for one customer of this tenant (the table is in
    the tenant's schema: another tenant's host never finds it). Only the token's SHA-256 is kept;
    it works once, before ``expires_at``, and signs the visitor in as that member only."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="member_link_customer_idx")]

    def __str__(self) -> str:
        return f"link for {self.customer_id}"


# --- partner offers (seed offer_constructor) ---------------------------------------------------------

class Offer(TimeStampedModel):
    """A partner's offer: a voucher for the members who match its target (tiers and an audience of
    the customers' filters, e.g. ``{"rfm_segment": "champions"}`` or ``{"segment": 12}``, the
    filters analytics adds), within a budget (vouchers) and a validity window. Issuing gives each
    matching member one voucher, until the budget is spent."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        ENDED = "ended", "Ended"

    name = models.CharField(max_length=200)
    description = models.CharField(max_length=500, blank=True)
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="offers",
                                help_text="Whose offer it is, and where its vouchers are valid (empty: the program's).")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    tiers = models.JSONField(default=list, blank=True, help_text="Tiers it targets (empty: every tier).")
    audience = models.JSONField(default=dict, blank=True,
                                help_text="Customer filters it targets, as the customers list takes them.")
    kind = models.CharField(max_length=12, choices=VoucherKind.choices, default=VoucherKind.FIXED_AMOUNT)
    value = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    item_name = models.CharField(max_length=200, blank=True)
    min_spend = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    validity_days = models.PositiveIntegerField(default=30)
    budget = models.PositiveIntegerField(help_text="Vouchers it may issue at most.")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["-starts_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="offer_window_valid"),
            models.CheckConstraint(condition=Q(budget__gt=0), name="offer_budget_gt_0"),
            models.CheckConstraint(condition=Q(validity_days__gt=0), name="offer_validity_days_gt_0"),
            models.CheckConstraint(condition=Q(value__gte=0) & (~Q(kind="percent") | Q(value__lte=100)),
                                   name="offer_value_valid"),
        ]

    def __str__(self) -> str:
        return self.name
