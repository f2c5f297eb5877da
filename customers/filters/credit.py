"""FilterSets of the credit lists (API)."""

from __future__ import annotations

import django_filters

from cdp.filters import IdFilter, IsoDateTimeFilter
from customers.models import CreditAccount, CreditPayment, CreditUsage


class CreditAccountFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=CreditAccount.Status.choices)
    customer = IdFilter(field_name="customer_id")

    class Meta:
        model = CreditAccount
        fields = ["status", "customer"]


class CreditUsageFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=CreditUsage.Status.choices)
    order = IdFilter(field_name="order_id")
    due_after = django_filters.DateFilter(field_name="due_date", lookup_expr="gte")
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lt")

    class Meta:
        model = CreditUsage
        fields = ["status", "order", "due_after", "due_before"]


class CreditPaymentFilter(django_filters.FilterSet):
    usage = IdFilter(field_name="usage_id")
    reference = django_filters.CharFilter()
    paid_after = IsoDateTimeFilter(field_name="paid_at", lookup_expr="gte")
    paid_before = IsoDateTimeFilter(field_name="paid_at", lookup_expr="lt")

    class Meta:
        model = CreditPayment
        fields = ["usage", "reference", "paid_after", "paid_before"]
