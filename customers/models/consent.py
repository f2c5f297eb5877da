"""Consent to be contacted, per channel and purpose, with its proof and every change kept (seed 003).

``Consent`` is the current answer for (customer, channel, purpose): one row, so that a send can
check it with one indexed lookup and a campaign can join it. ``ConsentEvent`` is the append-only
history: each change (and each re-confirmation with new proof) adds one row saying who or what
recorded it, from where (IP address, user agent), under which text of the consent wording, and
when. Nothing updates or deletes an event, except erasure, which blanks the proof.

What "no row" means is the purpose's default (``customers.selectors.consent``): marketing needs a
recorded grant; transactional messages (a receipt, a points statement) go out unless the person
withdrew them.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from customers.models.profile import Customer


class ConsentChannel(models.TextChoices):
    EMAIL = "email", "E-mail"
    WHATSAPP = "whatsapp", "WhatsApp"
    SMS = "sms", "SMS"


class ConsentPurpose(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    TRANSACTIONAL = "transactional", "Transactional"


class ConsentSource(models.TextChoices):
    API = "api", "API"
    PORTAL = "portal", "Portal"
    ADMIN = "admin", "Admin"
    MEMBER_PAGE = "member_page", "Member page"
    UNSUBSCRIBE = "unsubscribe", "Unsubscribe link"
    PROVIDER = "provider", "Provider opt-out (STOP reply, complaint)"
    IMPORT = "import", "Import"
    ERASURE = "erasure", "Erasure"


class Consent(models.Model):
    """The current answer of one person for one channel and purpose, and the proof of its last change."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents", db_index=False)
    channel = models.CharField(max_length=20, choices=ConsentChannel.choices)
    purpose = models.CharField(max_length=20, choices=ConsentPurpose.choices)
    granted = models.BooleanField()
    source = models.CharField(max_length=20, choices=ConsentSource.choices)
    text_version = models.CharField(max_length=50, blank=True, help_text="Which wording the person agreed to.")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    recorded_by = models.CharField(max_length=255, blank=True, help_text="User email, api-key:<prefix> or system.")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["customer_id", "channel", "purpose"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "channel", "purpose"], name="uniq_consent_customer_channel"),
            models.CheckConstraint(condition=Q(channel__in=ConsentChannel.values), name="consent_channel_known"),
            models.CheckConstraint(condition=Q(purpose__in=ConsentPurpose.values), name="consent_purpose_known"),
        ]
        # Campaigns ask "who granted marketing on this channel": the unique index starts with the
        # customer, so that question gets its own partial index.
        indexes = [models.Index(fields=["channel", "purpose", "customer"], condition=Q(granted=True),
                                name="consent_granted_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.channel}/{self.purpose}: {'granted' if self.granted else 'withdrawn'}"


class ConsentEvent(models.Model):
    """One recorded change (or re-confirmation) of a consent, with its proof. Append-only."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consent_events", db_index=False)
    channel = models.CharField(max_length=20, choices=ConsentChannel.choices)
    purpose = models.CharField(max_length=20, choices=ConsentPurpose.choices)
    granted = models.BooleanField()
    previous = models.BooleanField(null=True, help_text="The answer before (null: none recorded).")
    source = models.CharField(max_length=20, choices=ConsentSource.choices)
    text_version = models.CharField(max_length=50, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    recorded_by = models.CharField(max_length=255, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="consent_event_customer_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.channel}/{self.purpose} -> {self.granted} ({self.source})"
