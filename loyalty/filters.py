"""The loyalty ledger's FilterSet (API)."""

from __future__ import annotations

import django_filters

from cdp.filters import IdFilter, IsoDateTimeFilter
from loyalty.models import LoyaltyTransaction


class LoyaltyTransactionFilter(django_filters.FilterSet):
    type = django_filters.MultipleChoiceFilter(choices=LoyaltyTransaction.Type.choices)
    order = IdFilter(field_name="order_id")
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = LoyaltyTransaction
        fields = ["type", "order", "created_after", "created_before"]
