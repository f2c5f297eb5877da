"""All arithmetic on money: Decimal, two places, ROUND_HALF_UP, done once per line and per total.

``price_cart`` is pure (no database): the checkout, renewals, plan changes and the property
test all use it, so the identity ``subtotal - discount + tax == total`` holds by construction.

Exclusive tax: prices are net; tax is added per line after the line's share of the discount.
Inclusive tax: prices contain the tax. Lines are still reported net of tax so the identity holds:
``subtotal`` is the net of the catalog prices, ``discount`` the net value of the discount, and
``total`` is exactly the gross the buyer pays (sticker price minus the gross discount).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal("100")


def q2(value) -> Decimal:
    """Round to cents, half up (0.005 -> 0.01), never banker's rounding."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class CartLine:
    sku: str
    description: str
    unit_price: Decimal
    quantity: int


@dataclass(frozen=True)
class Discount:
    kind: str  # "percent" | "fixed"
    value: Decimal


@dataclass(frozen=True)
class PricedLine:
    sku: str
    description: str
    unit_price: Decimal
    quantity: int
    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True)
class PricedCart:
    lines: list[PricedLine] = field(default_factory=list)
    subtotal: Decimal = ZERO
    discount: Decimal = ZERO
    tax: Decimal = ZERO
    total: Decimal = ZERO
    gross_discount: Decimal = ZERO  # the discount as the buyer sees it on sticker prices


def discount_amount(*, basis: Decimal, discount: Discount | None) -> Decimal:
    """The discount on ``basis`` (the sum of sticker prices), never more than the basis."""
    if discount is None or basis <= 0:
        return ZERO
    if discount.kind == "percent":
        amount = q2(basis * Decimal(discount.value) / HUNDRED)
    else:
        amount = q2(discount.value)
    return max(ZERO, min(amount, basis))


def allocate(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split ``total`` over lines in proportion to ``weights``, in cents, summing exactly
    (largest remainder; ties go to the earlier line)."""
    if not weights:
        return []
    weight_sum = sum(weights)
    if weight_sum <= 0 or total == 0:
        return [ZERO for _ in weights]
    cents = int((total / CENT).to_integral_value())
    raw = [Decimal(cents) * w / weight_sum for w in weights]
    floors = [int(r) for r in raw]  # raw >= 0, so int() floors
    left = cents - sum(floors)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [Decimal(c) * CENT for c in floors]


def included_tax(gross: Decimal, rate_percent: Decimal) -> Decimal:
    """The tax contained in a tax-inclusive amount: gross × r / (1 + r), rounded."""
    rate = Decimal(rate_percent) / HUNDRED
    return q2(gross * rate / (1 + rate))


def price_cart(*, lines: list[CartLine], discount: Discount | None = None, tax_percent: Decimal = ZERO,
               tax_inclusive: bool = False) -> PricedCart:
    """Price a cart. Every line amount is rounded once; totals are sums of rounded lines."""
    tax_percent = Decimal(tax_percent)
    stickers = [q2(Decimal(line.unit_price) * line.quantity) for line in lines]
    basis = sum(stickers, ZERO)
    gross_discount = discount_amount(basis=basis, discount=discount)
    shares = allocate(gross_discount, stickers)
    priced: list[PricedLine] = []
    for line, sticker, share in zip(lines, stickers, shares):
        if tax_inclusive:
            after = sticker - share
            tax = included_tax(after, tax_percent)
            net_subtotal = sticker - included_tax(sticker, tax_percent)
            net_after = after - tax
            priced.append(PricedLine(line.sku, line.description, q2(line.unit_price), line.quantity,
                                     subtotal=net_subtotal, discount=net_subtotal - net_after, tax=tax, total=after))
        else:
            net_after = sticker - share
            tax = q2(net_after * tax_percent / HUNDRED)
            priced.append(PricedLine(line.sku, line.description, q2(line.unit_price), line.quantity,
                                     subtotal=sticker, discount=share, tax=tax, total=net_after + tax))
    subtotal = sum((p.subtotal for p in priced), ZERO)
    discount_total = sum((p.discount for p in priced), ZERO)
    tax_total = sum((p.tax for p in priced), ZERO)
    total = sum((p.total for p in priced), ZERO)
    assert subtotal - discount_total + tax_total == total, "money identity broken"
    return PricedCart(lines=priced, subtotal=subtotal, discount=discount_total, tax=tax_total, total=total,
                      gross_discount=gross_discount)
