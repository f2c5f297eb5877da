"""Reads of the engagement app."""

from __future__ import annotations

import datetime
import json
import zoneinfo

from django.db import connection
from django.db.models import Count, DateTimeField, Exists, ExpressionWrapper, OuterRef, QuerySet, Sum

from cdp.crypto import decrypt_text
from cdp.ids import get_or_not_found
from customers.models import ConsentEvent, ConsentSource, Order
from customers.selectors import counted_statuses
from engagement import conf
from engagement.models import AudienceDestination, Campaign, EngagementSettings, MessageTemplate, Notification, \
    ProviderCredentials, TriggerRule


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


Provider = ProviderCredentials.Provider


#: Per provider: the settings that are not secret, the secrets, and the platform setting each
#: falls back to when the tenant has no account of its own.
PROVIDER_FIELDS: dict[str, dict[str, dict[str, str]]] = {
    Provider.SMTP: {"public": {"email_from": "ENGAGEMENT_EMAIL_FROM"}, "secret": {"url": "CDP_SMTP_URL"}},
    Provider.WHATSAPP: {
        "public": {"phone_number_id": "ENGAGEMENT_WHATSAPP_PHONE_NUMBER_ID"},
        "secret": {"token": "ENGAGEMENT_WHATSAPP_TOKEN", "app_secret": "ENGAGEMENT_WHATSAPP_APP_SECRET",
                   "verify_token": "ENGAGEMENT_WHATSAPP_VERIFY_TOKEN"}},
    Provider.TWILIO: {
        "public": {"account_sid": "ENGAGEMENT_TWILIO_ACCOUNT_SID", "from": "ENGAGEMENT_TWILIO_FROM"},
        "secret": {"auth_token": "ENGAGEMENT_TWILIO_AUTH_TOKEN"}},
    Provider.META: {"public": {}, "secret": {"access_token": "ENGAGEMENT_META_ACCESS_TOKEN"}},
    Provider.GOOGLE_ADS: {
        "public": {"customer_id": "ENGAGEMENT_GOOGLE_ADS_CUSTOMER_ID",
                   "login_customer_id": "ENGAGEMENT_GOOGLE_ADS_LOGIN_CUSTOMER_ID"},
        "secret": {"developer_token": "ENGAGEMENT_GOOGLE_ADS_DEVELOPER_TOKEN",
                   "access_token": "ENGAGEMENT_GOOGLE_ADS_ACCESS_TOKEN"}},
}


def engagement_settings() -> EngagementSettings:
    """The tenant's rules; an unsaved row of defaults when none was saved (a read never writes)."""
    return EngagementSettings.objects.filter(pk=EngagementSettings.SINGLETON).first() or \
        EngagementSettings(pk=EngagementSettings.SINGLETON)


def tenant_timezone() -> zoneinfo.ZoneInfo:
    """The tenant's time zone (``settings.timezone``), UTC when unknown or outside a tenant."""
    tenant = getattr(connection, "tenant", None)
    name = tenant.setting("timezone") if tenant is not None and hasattr(tenant, "setting") else None
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def provider_config(provider: str) -> dict[str, str]:
    """What a channel needs to call ``provider``: the tenant's own account if it saved an active
    one, else the platform's settings. Includes ``"owner": "tenant" | "platform"``."""
    fields = PROVIDER_FIELDS[provider]
    row = ProviderCredentials.objects.filter(provider=provider, is_active=True).first()
    if row is None:
        values = {name: conf.get(setting) for part in ("public", "secret") for name, setting in fields[part].items()}
        return {**values, "owner": "platform"}
    secrets = json.loads(decrypt_text(row.secrets_encrypted)) if row.secrets_encrypted else {}
    values = {name: str(row.public.get(name, "") or "") for name in fields["public"]}
    values.update({name: str(secrets.get(name, "") or "") for name in fields["secret"]})
    return {**values, "owner": "tenant"}


def provider_credentials_summary() -> list[dict]:
    """Each provider with who owns the account in use and which secrets are set (never their
    values): what the admin and the API show."""
    rows = {row.provider: row for row in ProviderCredentials.objects.all()}
    summary = []
    for provider, fields in PROVIDER_FIELDS.items():
        row = rows.get(provider)
        stored = set(json.loads(decrypt_text(row.secrets_encrypted))) if row and row.secrets_encrypted else set()
        summary.append({"provider": provider, "owner": "tenant" if row and row.is_active else "platform",
                        "public": dict(row.public) if row else {},
                        "secrets_set": sorted(name for name in fields["secret"] if name in stored)})
    return summary


def campaign_results(*, campaign_id: int, days: int) -> dict:
    """What the campaign did: messages by status, clicks, unsubscribes after it on its channel,
    and counted sales of its recipients within ``days`` after their message (per currency)."""
    messages = Notification.objects.filter(campaign_id=campaign_id)
    counts = {status: 0 for status in Notification.Status.values}
    for row in messages.values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    sent = messages.filter(sent_at__isnull=False)
    window = datetime.timedelta(days=days)
    received = sent.filter(customer_id=OuterRef("customer_id"), sent_at__lte=OuterRef("order_date"),
                           sent_at__gte=ExpressionWrapper(OuterRef("order_date") - window,
                                                          output_field=DateTimeField()))
    orders = (Order.objects.filter(status__in=counted_statuses()).filter(Exists(received))
              .values("currency").annotate(orders=Count("id"), revenue=Sum("total_amount")).order_by("currency"))
    unsubscribed = (ConsentEvent.objects.filter(source=ConsentSource.UNSUBSCRIBE, granted=False)
                    .filter(Exists(sent.filter(customer_id=OuterRef("customer_id"), channel=OuterRef("channel"),
                                               sent_at__lte=OuterRef("created_at"))))
                    .values("customer_id").distinct().count())
    return {
        "counts": counts,
        "sent": sent.count(),
        "clicked": sent.filter(clicked_at__isnull=False).count(),
        "unsubscribed": unsubscribed,
        "attribution_days": days,
        "revenue": [{"currency": row["currency"], "orders": row["orders"], "amount": str(row["revenue"])}
                    for row in orders],
    }
