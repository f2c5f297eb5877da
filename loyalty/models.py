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

from cdp.models import TimeStampedModel
from customers.models import Customer, Order


class Tier(models.TextChoices):
    BRONZE = "bronze", "Bronze"
    SILVER = "silver", "Silver"
    GOLD = "gold", "Gold"
    PLATINUM = "platinum", "Platinum"


class LoyaltyProgram(TimeStampedModel):
    """The tenant's program settings (one row; the loyalty services create it with defaults)."""

    class TierBasis(models.TextChoices):
        SPEND = "spend", "Rolling spend"
        POINTS = "points", "Rolling points earned"

    name = models.CharField(max_length=100, default="Loyalty")
    is_active = models.BooleanField(default=True)
    points_per_currency_unit = models.DecimalField(max_digits=10, decimal_places=4, default=1)
    points_validity_days = models.PositiveIntegerField(default=365, help_text="0 means points never expire.")
    tier_basis = models.CharField(max_length=10, choices=TierBasis.choices, default=TierBasis.SPEND)
    tier_window_days = models.PositiveIntegerField(default=365, help_text="Rolling window for tier evaluation.")

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
        EARN = "earn", "Earn"
        REDEEM = "redeem", "Redeem"
        EXPIRE = "expire", "Expire"
        ADJUST = "adjust", "Adjust"
        BONUS = "bonus", "Bonus"

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
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.points:+d}"
