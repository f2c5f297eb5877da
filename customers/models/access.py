"""The data-access log: who read personal data, when, what, how many rows, from where (seed 003
"Logs of all queries"; LGPD art. 37, Ley 25.326 art. 9). Append-only and partitioned by month
(customers/partitions.py): kept for the tenant's ``data_retention_days`` and dropped a month at
a time."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class DataAccessLog(models.Model):
    """One request that returned personal data: one row per request, never per customer read."""

    class Action(models.TextChoices):
        PROFILE_READ = "profile.read", "Customer profile read"
        LIST = "customer.list", "Customer list"
        SEARCH = "customer.search", "Customer search"
        CHANGES_READ = "changes.read", "Change history read"
        SEGMENT_MEMBERS = "segment.members", "Segment members listed"
        EXPORT = "export", "Export"

    class Channel(models.TextChoices):
        API = "api", "API"
        PORTAL = "portal", "Portal"
        ADMIN = "admin", "Admin"

    # The partition column (cdp/ops/partitions.py); the primary key becomes (id, created_at).
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_label = models.CharField(max_length=255, help_text="User email, api-key:<prefix> or system.")
    # Ids in the public schema (users, API keys): plain integers, no foreign key across schemas.
    user_id = models.BigIntegerField(null=True, blank=True)
    api_key_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=32, choices=Action.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    resource_type = models.CharField(max_length=32, help_text="customer, segment…")
    resource_id = models.CharField(max_length=64, blank=True, help_text="Empty for a list or search.")
    rows = models.PositiveIntegerField(default=0, help_text="How many people's data the answer held.")
    masked = models.BooleanField(default=True, help_text="Whether the reader saw e-mail/phone/document masked.")
    query = models.JSONField(default=dict, blank=True, help_text="The filters or search used (lists).")
    path = models.CharField(max_length=255, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["resource_type", "resource_id"], name="access_resource_idx"),
            models.Index(fields=["actor_label", "-created_at"], name="access_actor_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.resource_type}"
