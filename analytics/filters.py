"""FilterSets of analytics' lists (the API's; the customer list's analytics filters are in
``analytics.selectors`` because customers' FilterSet takes them through its registry)."""

from __future__ import annotations

import django_filters

from analytics.models import (
    AdPerformanceDaily,
    CustomerChurn,
    CustomerClv,
    CustomerRfm,
    DailyKpi,
    ProcessingJob,
    Segment,
)


class RunFilter(django_filters.FilterSet):
    class Meta:
        model = ProcessingJob
        fields = ["status", "as_of"]


class RfmFilter(django_filters.FilterSet):
    class Meta:
        model = CustomerRfm
        fields = {"segment": ["exact"], "r_score": ["exact"], "f_score": ["exact"], "m_score": ["exact"],
                  "recency_days": ["lte", "gte"], "monetary": ["lte", "gte"]}


class ClvFilter(django_filters.FilterSet):
    class Meta:
        model = CustomerClv
        fields = {"tier": ["exact"], "total_clv": ["gte", "lte"], "probability_alive": ["gte", "lte"]}


class ChurnFilter(django_filters.FilterSet):
    class Meta:
        model = CustomerChurn
        fields = {"band": ["exact"], "probability": ["gte", "lte"], "method": ["exact"]}


class KpiFilter(django_filters.FilterSet):
    start = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    end = django_filters.DateFilter(field_name="date", lookup_expr="lte")

    class Meta:
        model = DailyKpi
        fields = ["start", "end"]


class AdPerformanceFilter(django_filters.FilterSet):
    start = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    end = django_filters.DateFilter(field_name="date", lookup_expr="lte")

    class Meta:
        model = AdPerformanceDaily
        fields = ["start", "end", "channel", "campaign_id"]


class SegmentFilter(django_filters.FilterSet):
    class Meta:
        model = Segment
        fields = ["is_active"]
