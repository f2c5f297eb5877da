"""Reads of orders: the list for the API, one order with its items, a customer's orders."""

from __future__ import annotations

from django.db.models import QuerySet

from cdp.ids import get_or_not_found
from customers.models import Order
from customers.selectors.profile import customer_get


def customer_orders(*, customer_id) -> QuerySet[Order]:
    customer = customer_get(customer_id=customer_id)
    return Order.objects.filter(customer_id=customer.pk).order_by("-order_date", "-id")


def order_list() -> QuerySet[Order]:
    return Order.objects.select_related("customer").order_by("-order_date", "-id")


def order_detail(*, order_id) -> Order:
    return get_or_not_found(Order.objects.select_related("customer").prefetch_related("items"), order_id,
                            "Order not found.")


def orders_of_erased_customers(*, source: str, external_order_ids) -> set[str]:
    """The external ids among ``external_order_ids`` of ``source`` whose order belongs to a
    pseudonymized customer: a source re-sending them must not bring the person's data back."""
    ids = [str(i) for i in external_order_ids if i]
    if not ids:
        return set()
    return set(Order.objects.filter(source=source, external_order_id__in=ids, customer__is_pseudonymized=True)
               .values_list("external_order_id", flat=True))
