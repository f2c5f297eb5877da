"""FilterSets shared by the API lists and the portal lists."""

from __future__ import annotations

import django_filters

from cdp.filters import IsoDateTimeFilter

from integrations.models import Integration, SyncLog, WebhookDelivery, WebhookEndpoint


class IntegrationFilter(django_filters.FilterSet):
    class Meta:
        model = Integration
        fields = ["integration_type", "sync_frequency", "is_active", "state", "last_sync_status"]


class SyncLogFilter(django_filters.FilterSet):
    started_after = IsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = IsoDateTimeFilter(field_name="started_at", lookup_expr="lt")

    class Meta:
        model = SyncLog
        fields = ["status", "trigger", "started_after", "started_before"]


class WebhookEndpointFilter(django_filters.FilterSet):
    class Meta:
        model = WebhookEndpoint
        fields = ["is_active"]


class WebhookDeliveryFilter(django_filters.FilterSet):
    class Meta:
        model = WebhookDelivery
        fields = ["event", "status"]
