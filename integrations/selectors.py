"""Reads of the integrations app."""

from __future__ import annotations

from django.db.models import QuerySet

from integrations.models import AdSpendDaily, Integration, SyncLog, WebhookDelivery, WebhookEndpoint


def integration_list() -> QuerySet[Integration]:
    """Integrations with their state, ordered by type and account."""
    return Integration.objects.order_by("integration_type", "account_name", "id")


def sync_log_list(*, integration_id: int) -> QuerySet[SyncLog]:
    """One integration's syncs, newest first."""
    return SyncLog.objects.filter(integration_id=integration_id).order_by("-started_at", "-id")


def webhook_endpoint_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.order_by("-created_at", "-id")


def webhook_delivery_list(*, endpoint_id: int) -> QuerySet[WebhookDelivery]:
    """An endpoint's deliveries, newest first."""
    return WebhookDelivery.objects.filter(endpoint_id=endpoint_id).order_by("-created_at", "-id")


def ad_spend_daily(*, since=None, until=None, channel: str | None = None) -> QuerySet[AdSpendDaily]:
    """Daily spend rows for analytics (spend, ROAS and acquisition cost per channel)."""
    qs = AdSpendDaily.objects.order_by("date", "channel", "campaign_id")
    if since:
        qs = qs.filter(date__gte=since)
    if until:
        qs = qs.filter(date__lte=until)
    if channel:
        qs = qs.filter(channel=channel)
    return qs
