"""The orders' FilterSet (API list)."""

from __future__ import annotations

import django_filters

from cdp.filters import IdFilter, IsoDateTimeFilter
from customers.models import Order


class OrderFilter(django_filters.FilterSet):
    source = django_filters.CharFilter()
    status = django_filters.MultipleChoiceFilter(choices=Order.Status.choices)
    payment_status = django_filters.MultipleChoiceFilter(choices=Order.PaymentStatus.choices)
    order_number = django_filters.CharFilter()
    customer = IdFilter(field_name="customer_id")
    currency = django_filters.CharFilter(method="filter_currency")
    external_order_id = django_filters.CharFilter()
    partner = django_filters.CharFilter()
    date_after = IsoDateTimeFilter(field_name="order_date", lookup_expr="gte")
    date_before = IsoDateTimeFilter(field_name="order_date", lookup_expr="lt")
    total_min = django_filters.NumberFilter(field_name="total_amount", lookup_expr="gte")
    total_max = django_filters.NumberFilter(field_name="total_amount", lookup_expr="lte")

    class Meta:
        model = Order
        fields = ["source", "status", "payment_status", "customer", "currency", "external_order_id", "partner",
                  "order_number",
                  "date_after", "date_before", "total_min", "total_max"]

    def filter_currency(self, queryset, name, value):
        return queryset.filter(currency=value.strip().upper())
