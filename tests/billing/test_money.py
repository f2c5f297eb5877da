"""Arithmetic: coupons, both tax modes, rounding per line and per total, and the identity
subtotal - discount + tax == total over random carts."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.money import CartLine, Discount, allocate, included_tax, price_cart, q2


def test_rounding_is_half_up_not_bankers():
    assert q2(D("0.005")) == D("0.01")
    assert q2(D("0.015")) == D("0.02")
    assert q2(D("2.675")) == D("2.68")
    assert q2(D("-0.005")) == D("-0.01")


def test_exclusive_tax_with_percent_coupon_rounds_per_line():
    # given two lines whose tax rounds differently per line than on the sum
    cart = price_cart(lines=[CartLine("A", "a", D("0.35"), 1), CartLine("B", "b", D("0.35"), 1)],
                      tax_percent=D("10"))
    # then each line's 0.035 rounds up to 0.04, and the order's tax is the sum of lines
    assert [line.tax for line in cart.lines] == [D("0.04"), D("0.04")]
    assert (cart.subtotal, cart.discount, cart.tax, cart.total) == (D("0.70"), D("0.00"), D("0.08"), D("0.78"))


def test_exclusive_tax_on_discounted_amount():
    cart = price_cart(lines=[CartLine("A", "a", D("100.00"), 2), CartLine("B", "b", D("50.00"), 1)],
                      discount=Discount("percent", D("10")), tax_percent=D("21"))
    assert cart.subtotal == D("250.00")
    assert cart.discount == D("25.00")
    assert [line.discount for line in cart.lines] == [D("20.00"), D("5.00")]
    assert cart.tax == D("47.25")  # 21% of 225
    assert cart.total == D("272.25")


def test_inclusive_tax_reports_net_amounts_and_total_is_the_sticker_price():
    # given 116.00 with 16% included (MX)
    cart = price_cart(lines=[CartLine("A", "a", D("116.00"), 1)], tax_percent=D("16"), tax_inclusive=True)
    assert (cart.subtotal, cart.discount, cart.tax, cart.total) == (D("100.00"), D("0.00"), D("16.00"), D("116.00"))
    # and with a fixed coupon of 11.60 gross, the buyer pays 104.40 of which 14.40 is tax
    cart = price_cart(lines=[CartLine("A", "a", D("116.00"), 1)], discount=Discount("fixed", D("11.60")),
                      tax_percent=D("16"), tax_inclusive=True)
    assert cart.total == D("104.40")
    assert cart.tax == D("14.40")
    assert cart.gross_discount == D("11.60")
    assert cart.subtotal - cart.discount + cart.tax == cart.total


def test_fixed_coupon_never_exceeds_the_cart():
    cart = price_cart(lines=[CartLine("A", "a", D("30.00"), 1)], discount=Discount("fixed", D("50.00")),
                      tax_percent=D("21"))
    assert (cart.discount, cart.tax, cart.total) == (D("30.00"), D("0.00"), D("0.00"))


def test_allocation_sums_exactly():
    assert allocate(D("0.10"), [D("1"), D("1"), D("1")]) == [D("0.04"), D("0.03"), D("0.03")]
    assert sum(allocate(D("33.33"), [D("10"), D("20"), D("70.01")])) == D("33.33")
    assert included_tax(D("121.00"), D("21")) == D("21.00")


money = st.decimals(min_value=D("0.01"), max_value=D("20000"), places=2, allow_nan=False, allow_infinity=False)
lines = st.lists(st.tuples(money, st.integers(min_value=1, max_value=25)), min_size=1, max_size=8)
discounts = st.one_of(
    st.none(),
    st.builds(Discount, st.just("percent"), st.decimals(min_value=D("0"), max_value=D("100"), places=2)),
    st.builds(Discount, st.just("fixed"), st.decimals(min_value=D("0"), max_value=D("50000"), places=2)),
)
rates = st.decimals(min_value=D("0"), max_value=D("40"), places=4)


@settings(max_examples=300, deadline=None)
@given(lines=lines, discount=discounts, rate=rates, inclusive=st.booleans())
def test_amounts_always_add_up(lines, discount, rate, inclusive):
    cart = price_cart(lines=[CartLine(f"S{i}", "x", price, qty) for i, (price, qty) in enumerate(lines)],
                      discount=discount, tax_percent=rate, tax_inclusive=inclusive)
    # the identity, for the order and for every line
    assert cart.subtotal - cart.discount + cart.tax == cart.total
    for line in cart.lines:
        assert line.subtotal - line.discount + line.tax == line.total
        assert line.discount >= 0 and line.tax >= 0 and line.total >= 0
        for amount in (line.subtotal, line.discount, line.tax, line.total):
            assert amount == amount.quantize(D("0.01"))
    sticker = sum(q2(price * qty) for price, qty in lines)
    assert 0 <= cart.gross_discount <= sticker
    # totals are sums of rounded lines
    assert cart.tax == sum(line.tax for line in cart.lines)
    if inclusive:
        # the buyer pays the sticker price minus the discount, tax included
        assert cart.total == sticker - cart.gross_discount
    else:
        assert cart.subtotal == sticker
        assert cart.discount == cart.gross_discount
        # tax is the rate on the discounted net, within half a cent per line
        exact = (cart.subtotal - cart.discount) * rate / 100
        assert abs(cart.tax - exact) <= D("0.005") * len(lines) + D("0.0000001")
