"""Reads of loyalty: the program and its tier rules, a customer's account and ledger (writes are in
``loyalty.services``). Reads never write: the program and its rules are created with the tenant
(``loyalty.services.loyalty_defaults_create``)."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from django.db.models import QuerySet

from customers.models import Customer
from customers.selectors import customer_get
from customers.selectors.tenant import tenant_setting
from customers.services.privacy import row_dict
from loyalty.models import LoyaltyAccount, LoyaltyProgram, LoyaltyTierRule, LoyaltyTransaction, Tier

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
    """The customer's account and ledger, every column, for a data-subject export (None without an
    account; registered with customers as the ``loyalty`` export section)."""
    account = LoyaltyAccount.objects.filter(customer_id=customer_id).first()
    if account is None:
        return None
    return {"account": row_dict(account),
            "transactions": [row_dict(entry) for entry in LoyaltyTransaction.objects.filter(account=account)
                             .order_by("created_at", "id")]}
