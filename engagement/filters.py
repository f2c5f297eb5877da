"""FilterSets of the engagement lists."""

from __future__ import annotations

import django_filters

from engagement.models import Campaign, MessageTemplate, Notification


class NotificationFilter(django_filters.FilterSet):
    customer = django_filters.NumberFilter(field_name="customer_id")
    campaign = django_filters.NumberFilter(field_name="campaign_id")

    class Meta:
        model = Notification
        fields = ["status", "channel", "purpose", "trigger", "customer", "campaign"]


class MessageTemplateFilter(django_filters.FilterSet):
    class Meta:
        model = MessageTemplate
        fields = ["name", "channel", "purpose", "language", "is_active"]


class CampaignFilter(django_filters.FilterSet):
    class Meta:
        model = Campaign
        fields = ["status"]
