"""Engagement (tenant schema): message templates with versions, the notification queue (seed 002
``notifications``) and campaigns to a segment.

The queue's rule is in the database: one notification per (trigger, customer, key), so an event
delivered twice, a task retried after a crash or a campaign sent twice never makes a second
message; a second enqueue finds the first row and returns it.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import pgettext_lazy

from cdp.models import TimeStampedModel
from customers.models import ConsentChannel, ConsentPurpose, Customer


class Language(models.TextChoices):
    ES = "es", "Español"
    PT_BR = "pt-BR", "Português (Brasil)"
    EN = "en", "English"


class MessageTemplate(TimeStampedModel):
    """One version of a template. Editing makes a new version (the old one stays, so a
    notification always shows the text it was sent with)."""

    name = models.CharField(max_length=100, help_text="The template's name; versions share it.")
    channel = models.CharField(max_length=20, choices=ConsentChannel.choices)
    purpose = models.CharField(max_length=20, choices=ConsentPurpose.choices, default=ConsentPurpose.MARKETING)
    language = models.CharField(max_length=5, choices=Language.choices, default=Language.ES)
    version = models.PositiveIntegerField(default=1)
    subject = models.CharField(max_length=255, blank=True, help_text="E-mail only. Variables as {{ name }}.")
    body = models.TextField(help_text="Variables as {{ first_name }}, {{ points }}, {{ tier }}, {{ voucher_code }}...")
    whatsapp_template = models.CharField(
        max_length=512, blank=True,
        help_text="WhatsApp only: the approved template's name at Meta; the body's variables, in order, "
                  "become its {{1}}, {{2}}... parameters.")
    is_active = models.BooleanField(default=True)
    created_by = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["name", "channel", "language", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "channel", "language", "version"], name="uniq_template_version"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.channel}, {self.language}) v{self.version}"


class Campaign(TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("campaign status", "Draft")
        SENDING = "sending", pgettext_lazy("campaign status", "Sending")
        SENT = "sent", pgettext_lazy("campaign status", "Sent")

    name = models.CharField(max_length=150)
    segment_id = models.BigIntegerField(help_text="analytics.Segment id: the audience, read when sending.")
    template = models.ForeignKey(MessageTemplate, on_delete=models.PROTECT, related_name="campaigns")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    audience_size = models.PositiveIntegerField(default=0, help_text="Segment members when the send started.")
    started_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class Notification(models.Model):
    """One message to one person on one channel, from a trigger, and what became of it."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        FAILED = "failed", "Failed"
        SUPPRESSED = "suppressed", "Suppressed"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="notifications", db_index=False)
    channel = models.CharField(max_length=20, choices=ConsentChannel.choices)
    purpose = models.CharField(max_length=20, choices=ConsentPurpose.choices)
    template = models.ForeignKey(MessageTemplate, on_delete=models.PROTECT, related_name="notifications",
                                 null=True, blank=True)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="notifications", null=True,
                                 blank=True, db_index=False)
    trigger = models.CharField(max_length=100, help_text="points.earned, tier.changed, campaign, ...")
    key = models.CharField(max_length=200, help_text="What makes this message unique within its trigger and person.")
    context = models.JSONField(default=dict, blank=True, help_text="The template's variables.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    recipient = models.CharField(max_length=320, blank=True, help_text="The address or number it went to.")
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField(blank=True, help_text="The text as rendered for the send.")
    provider_message_id = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True, help_text="First tracked click (opt-in tracking).")
    # A database default too: campaign fan-out inserts rows with set-based SQL (engagement.sql).
    click_count = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["trigger", "customer", "key"], name="uniq_notification_trigger_key"),
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="notification_customer_idx"),
            models.Index(fields=["campaign", "status"], name="notification_campaign_idx",
                         condition=Q(campaign__isnull=False)),
            # Status webhooks find the message by the provider's id.
            models.Index(fields=["channel", "provider_message_id"], name="notification_provider_id_idx",
                         condition=~Q(provider_message_id="")),
        ]

    def __str__(self) -> str:
        return f"{self.trigger}:{self.key} -> {self.customer_id} ({self.channel}, {self.status})"


class TriggerRule(TimeStampedModel):
    """Send a template when an event about a person arrives on the event bus."""

    class Event(models.TextChoices):
        CUSTOMER_CREATED = "customer.created", "A customer was created (welcome)"
        SEGMENT_ENTERED = "segment.entered", "A customer entered a segment"
        CHURN_WORSENED = "churn.worsened", "A customer's churn band worsened (win-back)"
        BIRTHDAY = "customer.birthday", "A customer's birthday (daily, in the tenant's time zone)"

    event = models.CharField(max_length=40, choices=Event.choices)
    template = models.ForeignKey(MessageTemplate, on_delete=models.PROTECT, related_name="trigger_rules")
    segment_id = models.BigIntegerField(null=True, blank=True, help_text="segment.entered: only this segment.")
    is_active = models.BooleanField(default=True)
    created_by = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["event", "id"]
        constraints = [models.CheckConstraint(
            condition=Q(event="segment.entered", segment_id__isnull=False) | ~Q(event="segment.entered"),
            name="trigger_segment_needs_segment")]

    def __str__(self) -> str:
        return f"{self.event} -> {self.template}"


class AudienceDestination(TimeStampedModel):
    """A segment kept in sync with an ad platform's audience (Meta Custom Audience, Google Ads
    Customer Match user list)."""

    class Platform(models.TextChoices):
        META = "meta", pgettext_lazy("audience platform", "Meta Custom Audience")
        GOOGLE = "google", pgettext_lazy("audience platform", "Google Ads Customer Match")

    platform = models.CharField(max_length=10, choices=Platform.choices, default=Platform.META)
    audience_id = models.CharField(max_length=64, help_text="The platform's audience id.")
    segment_id = models.BigIntegerField(help_text="analytics.Segment id whose members are pushed.")
    is_active = models.BooleanField(default=True)
    sent_count = models.PositiveIntegerField(default=0, help_text="Rows the platform received, all time.")
    invalid_count = models.PositiveIntegerField(default=0, help_text="Rows it reported invalid, all time.")
    removed_count = models.PositiveIntegerField(default=0)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_job = models.CharField(max_length=255, blank=True,
                                help_text="Google: the resource name of the last offline user data job.")
    created_by = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["platform", "audience_id"]
        constraints = [models.UniqueConstraint(fields=["platform", "audience_id", "segment_id"],
                                               name="uniq_audience_destination")]

    def __str__(self) -> str:
        return f"{self.platform}:{self.audience_id} <- segment {self.segment_id}"


class EngagementSettings(models.Model):
    """The tenant's sending rules (one row per tenant schema, ``pk=1``; created on first save, and
    read as these defaults when missing, so reads never write)."""

    SINGLETON = 1

    double_opt_in_email = models.BooleanField(
        default=False, help_text="E-mail marketing is recorded only when the person clicks the confirmation link.")
    frequency_cap = models.PositiveIntegerField(
        null=True, blank=True, help_text="At most this many marketing messages per person and channel in the window "
                                         "(empty: no cap). Transactional messages are never capped.")
    frequency_window_hours = models.PositiveIntegerField(default=24)
    quiet_hours_start = models.TimeField(null=True, blank=True,
                                         help_text="Marketing waits from this hour (tenant's time zone)...")
    quiet_hours_end = models.TimeField(null=True, blank=True, help_text="...until this hour.")
    monthly_send_quota = models.PositiveIntegerField(
        null=True, blank=True, help_text="Messages per calendar month (tenant's time zone); empty: unlimited.")
    track_clicks = models.BooleanField(
        default=False, help_text="Rewrite the links of marketing e-mails to count clicks (off unless the tenant opts in).")
    attribution_days = models.PositiveIntegerField(
        default=7, help_text="Orders within this many days after a message count as its attributed revenue.")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name_plural = "engagement settings"
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="engagement_settings_singleton"),
                       models.CheckConstraint(condition=Q(frequency_window_hours__gte=1),
                                              name="engagement_frequency_window_positive")]

    def __str__(self) -> str:
        return "Engagement settings"


class SendCounter(models.Model):
    """Messages handed to a provider per month: the send quota's meter (one row per month, bumped
    with a single conditional UPDATE so concurrent workers never pass the quota)."""

    period_start = models.DateField(unique=True)
    sent = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.period_start}: {self.sent}"


class OptInRequest(models.Model):
    """A double opt-in waiting for the person: the grant asked for (with the asker's proof), and
    the confirmation (with the person's own proof) that turns it into a consent record."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        CONFIRMED = "confirmed", "Confirmed"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="opt_in_requests")
    channel = models.CharField(max_length=20, choices=ConsentChannel.choices, default=ConsentChannel.EMAIL)
    purpose = models.CharField(max_length=20, choices=ConsentPurpose.choices, default=ConsentPurpose.MARKETING)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    source = models.CharField(max_length=20)
    text_version = models.CharField(max_length=50, blank=True)
    requested_by = models.CharField(max_length=255, blank=True)
    request_ip = models.GenericIPAddressField(null=True, blank=True)
    request_user_agent = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirm_ip = models.GenericIPAddressField(null=True, blank=True)
    confirm_user_agent = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"opt-in {self.pk} {self.customer_id} {self.channel}/{self.purpose} ({self.status})"


class ProviderCredentials(TimeStampedModel):
    """A tenant's own account at a provider (its SMTP relay, WhatsApp number, Twilio account, ad
    accounts). Without a row the platform's settings apply. Secrets are encrypted at rest
    (``cdp.crypto``) and never shown again: a form leaves a blank secret as it was."""

    class Provider(models.TextChoices):
        SMTP = "smtp", "E-mail (SMTP)"
        WHATSAPP = "whatsapp", "WhatsApp Cloud API"
        TWILIO = "twilio", "Twilio SMS"
        META = "meta", "Meta Custom Audiences"
        GOOGLE_ADS = "google_ads", "Google Ads Customer Match"

    provider = models.CharField(max_length=20, choices=Provider.choices, unique=True)
    public = models.JSONField(default=dict, blank=True, help_text="Settings that are not secret (ids, sender).")
    secrets_encrypted = models.TextField(blank=True, help_text="Fernet token of the secrets as JSON.")
    is_active = models.BooleanField(default=True)
    updated_by = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["provider"]
        verbose_name_plural = "provider credentials"

    def __str__(self) -> str:
        return self.get_provider_display()
