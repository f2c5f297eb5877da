"""Reads of the integrations app."""

from __future__ import annotations

import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from cdp.ids import get_or_not_found
from customers.selectors import customer_list
from integrations.models import AdSpendDaily, Integration, MercadoLibreOrder, SyncLog, WebhookDelivery, WebhookEndpoint

#: What a CRM push sends of each profile. Merged profiles say where they went (``merged_into_id``)
#: and pseudonymized ones arrive scrubbed, so the CRM can follow merges and erasures.
CRM_PROFILE_FIELDS = ("id", "email", "phone", "first_name", "last_name", "document_type", "document_number",
                      "birth_date", "gender", "city", "state", "country", "customer_type", "status",
                      "marketing_consent", "tags", "total_orders", "total_spent", "avg_order_value",
                      "first_purchase_at", "last_purchase_at", "is_pseudonymized", "merged_into_id", "created_at",
                      "updated_at")


FREQUENCY_INTERVALS = {
    Integration.Frequency.HOURLY: datetime.timedelta(hours=1),
    Integration.Frequency.DAILY: datetime.timedelta(days=1),
    Integration.Frequency.WEEKLY: datetime.timedelta(weeks=1),
}


def integration_list() -> QuerySet[Integration]:
    """Integrations with their state, ordered by type and account."""
    return Integration.objects.order_by("integration_type", "account_name", "id")


def sync_latest() -> SyncLog | None:
    """The most recent sync of any integration (the overview's "last sync")."""
    return SyncLog.objects.select_related("integration").order_by("-started_at", "-id").first()


def integration_get(*, integration_id) -> Integration:
    """The integration ``integration_id`` names (any input: a URL segment, a body field), or
    ``NotFound``."""
    return get_or_not_found(Integration, integration_id, "No such integration.")


def integrations_due(*, now: datetime.datetime | None = None) -> list[int]:
    """Ids of active, scheduled integrations whose frequency says they are due, and of those
    whose sync died with its worker (lease run out): they resume from their cursor now."""
    now = now or timezone.now()
    due = []
    for integration in Integration.objects.filter(is_active=True).filter(
            Q(state=Integration.State.IDLE) | Q(state=Integration.State.RUNNING, lease_expires_at__lte=now)
            | Q(state=Integration.State.RUNNING, lease_expires_at__isnull=True)).exclude(
            sync_frequency=Integration.Frequency.MANUAL):
        if integration.state == Integration.State.RUNNING:
            due.append(integration.pk)
            continue
        interval = FREQUENCY_INTERVALS[integration.sync_frequency]
        # A little slack, so a dispatcher running every 15 minutes does not skip a whole period.
        slack = datetime.timedelta(minutes=5)
        if integration.last_sync_at is None or integration.last_sync_at <= now - interval + slack:
            due.append(integration.pk)
    return due


def sync_log_list(*, integration_id: int) -> QuerySet[SyncLog]:
    """One integration's syncs, newest first."""
    return SyncLog.objects.filter(integration_id=integration_id).order_by("-started_at", "-id")


def webhook_endpoint_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.order_by("-created_at", "-id")


def webhook_endpoint_get(*, endpoint_id) -> WebhookEndpoint:
    """The endpoint ``endpoint_id`` names (any input), or ``NotFound``."""
    return get_or_not_found(WebhookEndpoint, endpoint_id, "No such webhook endpoint.")


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


def ad_spend_rows(*, since: datetime.date, until: datetime.date) -> list[dict]:
    """Daily spend per campaign between two dates, as analytics reads it (registered as its spend
    provider: analytics computes CAC and ROAS without importing integrations)."""
    return list(ad_spend_daily(since=since, until=until).values(
        "date", "channel", "campaign_id", "campaign_name", "currency", "spend", "clicks", "impressions"))


def crm_profiles_changed(*, since: datetime.datetime | None, until: datetime.datetime,
                         after: tuple[datetime.datetime, int] | None, limit: int) -> list[dict]:
    """Up to ``limit`` customer profiles changed in (``since``, ``until``] (every profile when
    ``since`` is None), in (updated_at, id) order, strictly after the ``after`` key."""
    profiles = customer_list().filter(updated_at__lte=until)
    if since is not None:
        profiles = profiles.filter(updated_at__gt=since)
    if after is not None:
        profiles = profiles.filter(Q(updated_at__gt=after[0]) | Q(updated_at=after[0], id__gt=after[1]))
    return list(profiles.order_by("updated_at", "id").values(*CRM_PROFILE_FIELDS)[:limit])


def ml_pack_orders(*, integration: Integration, pack_ids: list[str]) -> dict[str, list[dict]]:
    """Every stored order of each MercadoLibre pack (cart), by pack id."""
    packs: dict[str, list[dict]] = {}
    for pack_id, payload in (MercadoLibreOrder.objects.filter(integration=integration, pack_id__in=pack_ids)
                             .order_by("order_id").values_list("pack_id", "payload")):
        packs.setdefault(pack_id, []).append(payload)
    return packs
