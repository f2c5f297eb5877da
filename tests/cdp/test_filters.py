"""``cdp.filters.IdFilter``: ids in query strings are whole positive numbers that fit a bigint."""

import django_filters
import pytest

from cdp.filters import IdFilter
from cdp.ids import MAX_ID
from customers.models import Order


class OrderByCustomer(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id")

    class Meta:
        model = Order
        fields = ["customer"]


@pytest.mark.parametrize("value", ["0", "-1", str(MAX_ID + 1), "1.5", "abc", "²"])
def test_an_id_that_cannot_exist_is_a_field_error(value):
    filterset = OrderByCustomer({"customer": value}, queryset=Order.objects.none())
    assert not filterset.is_valid() and "customer" in filterset.errors


@pytest.mark.parametrize("value", ["1", str(MAX_ID)])
def test_an_id_that_can_exist_filters(value):
    filterset = OrderByCustomer({"customer": value}, queryset=Order.objects.none())
    assert filterset.is_valid()
