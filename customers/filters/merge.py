"""FilterSets of duplicate suggestions and merges (API)."""

from __future__ import annotations

import django_filters
from django.db.models import Q

from cdp.filters import IdFilter
from customers.models import CustomerMerge, DuplicateCandidate


class DuplicateCandidateFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=DuplicateCandidate.Status.choices)
    min_score = django_filters.NumberFilter(field_name="score", lookup_expr="gte", min_value=0, max_value=1)
    customer = IdFilter(method="filter_customer", label="Either customer of the pair")

    class Meta:
        model = DuplicateCandidate
        fields = ["status", "min_score", "customer"]

    def filter_customer(self, queryset, name, value):
        return queryset.filter(Q(customer_a_id=value) | Q(customer_b_id=value))


class CustomerMergeFilter(django_filters.FilterSet):
    survivor = IdFilter(field_name="survivor_id")
    merged = IdFilter(field_name="merged_id")
    active = django_filters.BooleanFilter(field_name="undone_at", lookup_expr="isnull", label="Not undone")

    class Meta:
        model = CustomerMerge
        fields = ["survivor", "merged", "active"]
