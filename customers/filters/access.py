"""The data-access log's filters (API list and admin)."""

from __future__ import annotations

import django_filters

from cdp.filters import IsoDateTimeFilter
from customers.models import DataAccessLog


class DataAccessLogFilter(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(choices=DataAccessLog.Action.choices)
    channel = django_filters.ChoiceFilter(choices=DataAccessLog.Channel.choices)
    resource_type = django_filters.CharFilter()
    resource_id = django_filters.CharFilter()
    actor = django_filters.CharFilter(field_name="actor_label", lookup_expr="icontains")
    ip = django_filters.CharFilter(field_name="ip_address")
    masked = django_filters.BooleanFilter()
    since = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = DataAccessLog
        fields = ["action", "channel", "resource_type", "resource_id", "actor", "ip", "masked", "since", "until"]
