"""Reads of the engagement app."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from cdp.ids import get_or_not_found
from engagement.models import AudienceDestination, Campaign, MessageTemplate, Notification, TriggerRule


def notification_list() -> QuerySet[Notification]:
    return Notification.objects.select_related("template").order_by("-created_at", "-id")


def message_template_list() -> QuerySet[MessageTemplate]:
    return MessageTemplate.objects.order_by("name", "channel", "language", "-version")


def campaign_list() -> QuerySet[Campaign]:
    return Campaign.objects.select_related("template").order_by("-created_at", "-id")


def campaign_get(*, campaign_id) -> Campaign:
    return get_or_not_found(campaign_list(), campaign_id, "Campaign not found.")


def campaign_counts(*, campaign_id: int) -> dict:
    """The campaign's notifications by status (every status present, zero when none): its live progress."""
    counts = {status: 0 for status in Notification.Status.values}
    for row in Notification.objects.filter(campaign_id=campaign_id).values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    return counts


def trigger_rule_list() -> QuerySet[TriggerRule]:
    return TriggerRule.objects.select_related("template").order_by("event", "id")


def audience_destination_list() -> QuerySet[AudienceDestination]:
    return AudienceDestination.objects.order_by("platform", "audience_id", "id")
