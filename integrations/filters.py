"""FilterSets shared by the API lists and the portal lists."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from cdp.filters import IsoDateTimeFilter

from integrations.models import Integration, SyncLog, WebhookDelivery, WebhookEndpoint


class IntegrationFilter(django_filters.FilterSet):
    integration_type = django_filters.ChoiceFilter(choices=Integration.Type.choices, label=_("Source"))
    sync_frequency = django_filters.ChoiceFilter(choices=Integration.Frequency.choices, label=_("Frequency"))
    is_active = django_filters.BooleanFilter(label=_("Active"))
    state = django_filters.ChoiceFilter(choices=Integration.State.choices, label=_("State"))
    last_sync_status = django_filters.CharFilter(label=_("Last result"))

    class Meta:
        model = Integration
        fields = ["integration_type", "sync_frequency", "is_active", "state", "last_sync_status"]


class SyncLogFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=SyncLog.Status.choices, label=_("Status"))
    trigger = django_filters.CharFilter(label=_("Trigger"))
    started_after = IsoDateTimeFilter(field_name="started_at", lookup_expr="gte", label=_("Started from"))
    started_before = IsoDateTimeFilter(field_name="started_at", lookup_expr="lt", label=_("Started before"))

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
