"""Integrations of a tenant: source connections, their sync log, the raw payloads they fetched,
daily ad spend, and outgoing webhook endpoints with their deliveries.

Secrets (credentials, webhook signing secrets) are stored only as Fernet tokens
(``integrations.crypto``); no model field holds a secret in clear text.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cdp.softdelete import SoftDeleteModel, alive_unique
from cdp.models import TimeStampedModel
from cdp.redact import url_redact


class Integration(SoftDeleteModel, TimeStampedModel):
    """A source the tenant connected. Deleting one hides it and stops its syncs and hooks; it can
    be restored with its history for 30 days, then it is purged (cdp/softdelete.py)."""

    class Type(models.TextChoices):
        VTEX = "vtex", _("VTEX")
        MERCADOLIBRE = "mercadolibre", _("MercadoLibre")
        GOOGLE_ADS = "google_ads", _("Google Ads")
        FACEBOOK_ADS = "facebook_ads", _("Facebook Ads")
        CRM_WEBHOOK = "crm_webhook", _("CRM (webhook)")

    class Frequency(models.TextChoices):
        HOURLY = "hourly", _("Hourly")
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly")
        MANUAL = "manual", _("Manual")

    class State(models.TextChoices):
        IDLE = "idle", _("Idle")
        RUNNING = "running", _("Running")
        DISABLED = "disabled", _("Disabled")

    integration_type = models.CharField(max_length=30, choices=Type.choices)
    account_name = models.CharField(max_length=255)
    base_url = models.URLField(max_length=500, blank=True, help_text="Empty: the source's production API.")
    config = models.JSONField(default=dict, blank=True,
                              help_text="Non-secret settings: seller_id, customer_id, ad_account_id, api_version...")
    credentials_encrypted = models.TextField(blank=True, editable=False)
    sync_frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.DAILY)
    is_active = models.BooleanField(default=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.IDLE)
    sync_started_at = models.DateTimeField(null=True, blank=True)
    # The running sync's lease: its log entry holds the integration until lease_expires_at, and
    # renews it as it works. Only the holder may commit pages or finish (a fencing token).
    # No database constraint: sync logs are partitioned by month (cdp/ops/partitions.py), and a
    # partitioned table's id is unique only together with its month, which a foreign key cannot name.
    lease_log = models.ForeignKey("SyncLog", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                  db_constraint=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    cursor = models.JSONField(default=dict, blank=True, help_text="Where the next sync resumes.")
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_sync_status = models.CharField(max_length=20, blank=True)
    last_sync_error = models.TextField(blank=True)

    class Meta:
        ordering = ["integration_type", "account_name", "id"]
        constraints = [
            alive_unique("integration_type", "account_name", name="uniq_integration_type_account_alive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_integration_type_display()} · {self.account_name}"

    def sync_lease_alive(self, now=None) -> bool:
        """True while a running sync holds this integration (its lease has not run out)."""
        return self.state == self.State.RUNNING and self.lease_expires_at is not None and \
            self.lease_expires_at > (now or timezone.now())

    @property
    def source(self) -> str:
        """The ``source`` of the orders this integration ingests."""
        return self.integration_type


class SyncLog(models.Model):
    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        SUCCESS = "success", _("Success")
        PARTIAL = "partial", _("Partial")
        ERROR = "error", _("Error")

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="syncs")
    trigger = models.CharField(max_length=20, default="manual")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IN_PROGRESS)
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveBigIntegerField(null=True, blank=True)
    pages = models.PositiveIntegerField(default=0)
    records_fetched = models.PositiveIntegerField(default=0)
    records_created = models.PositiveIntegerField(default=0)
    records_updated = models.PositiveIntegerField(default=0)
    records_unchanged = models.PositiveIntegerField(default=0)
    records_rejected = models.PositiveIntegerField(default=0)
    http_wait_ms = models.PositiveBigIntegerField(default=0, help_text="Wall time spent fetching from the source.")
    window = models.JSONField(default=dict, blank=True)
    error_code = models.CharField(max_length=50, blank=True)
    error = models.TextField(blank=True)
    rejections = models.JSONField(default=list, blank=True, help_text="The first rejected records and why.")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["integration", "-started_at"], name="synclog_integration_idx")]


class RawPayload(models.Model):
    """Abstract: a source payload kept as received, one row per source id (re-fetches update it)."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="+")
    payload = models.JSONField()
    fetched_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class VtexOrder(RawPayload):
    order_id = models.CharField(max_length=64)
    status = models.CharField(max_length=50, blank=True)
    creation_date = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name, verbose_name_plural = "VTEX order", "VTEX orders"
        ordering = ["-creation_date", "-id"]
        constraints = [models.UniqueConstraint(fields=["integration", "order_id"], name="uniq_vtex_order")]


class MercadoLibreOrder(RawPayload):
    # 64-bit ids are kept as strings: JSON consumers in other languages lose precision on them.
    order_id = models.CharField(max_length=32)
    pack_id = models.CharField(max_length=32, blank=True, db_index=True)
    status = models.CharField(max_length=50, blank=True)
    date_created = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-date_created", "-id"]
        constraints = [models.UniqueConstraint(fields=["integration", "order_id"], name="uniq_ml_order")]


class AdSpendDaily(models.Model):
    """One campaign's day on one ad channel; the source row is kept in ``raw``."""

    class Channel(models.TextChoices):
        GOOGLE_ADS = "google_ads", _("Google Ads")
        FACEBOOK_ADS = "facebook_ads", _("Facebook Ads")

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="spend")
    date = models.DateField()
    channel = models.CharField(max_length=20, choices=Channel.choices)
    campaign_id = models.CharField(max_length=64)
    campaign_name = models.CharField(max_length=255, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    spend = models.DecimalField(max_digits=15, decimal_places=2)
    clicks = models.PositiveBigIntegerField(default=0)
    impressions = models.PositiveBigIntegerField(default=0)
    conversions = models.DecimalField(max_digits=15, decimal_places=2, default=0)
    conversion_value = models.DecimalField(max_digits=15, decimal_places=2, default=0)
    raw = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name, verbose_name_plural = "daily ad spend", "daily ad spend"
        ordering = ["-date", "channel", "campaign_id"]
        constraints = [
            models.UniqueConstraint(fields=["integration", "date", "campaign_id"], name="uniq_spend_day_campaign"),
            models.CheckConstraint(condition=Q(spend__gte=0), name="spend_gte_0"),
        ]
        indexes = [models.Index(fields=["channel", "date"], name="spend_channel_date_idx")]


class WebhookEndpoint(SoftDeleteModel, TimeStampedModel):
    """Where the tenant's events are posted. Deleting one stops its deliveries; restorable for
    30 days, then purged with its delivery log (cdp/softdelete.py)."""

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=255, blank=True)
    events = models.JSONField(default=list, help_text='Event names, or ["*"] for all.')
    secret_encrypted = models.TextField(editable=False)
    is_active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        # Shown in messages, titles and the admin history, which must not keep the URL's token.
        return url_redact(self.url) + (f" #{self.pk}" if self.pk else "")

    def wants(self, event: str) -> bool:
        return "*" in self.events or event in self.events


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RETRYING = "retrying", _("Retrying")
        SUCCESS = "success", _("Success")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField(default=uuid.uuid4, db_index=True, help_text="Same for redeliveries of one event.")
    event = models.CharField(max_length=50)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    response_time_ms = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # No database constraint: deliveries are partitioned by month (see Integration.lease_log).
    redelivery_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                      db_constraint=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name, verbose_name_plural = "webhook delivery", "webhook deliveries"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="delivery_endpoint_idx"),
            # What the tenant's drain reads (integrations.services.webhooks._due_batch): small
            # partial indexes, walked in order, over unfinished deliveries only.
            models.Index(fields=["created_at", "id"], name="delivery_pending_idx", condition=Q(status="pending")),
            models.Index(fields=["next_retry_at", "id"], name="delivery_retry_idx", condition=Q(status="retrying")),
            models.Index(fields=["created_at", "id"], name="delivery_ping_idx",
                         condition=Q(status="pending", event="webhook.ping")),
        ]
