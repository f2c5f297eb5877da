"""Duplicates and merges: suggested pairs with a score, and merges that keep enough to be undone."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from cdp.models import TimeStampedModel
from customers.models.profile import Customer


class CustomerMerge(models.Model):
    """``merged`` was folded into ``survivor``; ``snapshot`` holds what the undo needs (the merged
    profile and the ids of every row moved)."""

    survivor = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_as_survivor")
    merged = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_as_merged")
    snapshot = models.JSONField(default=dict)
    reason = models.CharField(max_length=255, blank=True)
    merged_by = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(survivor=F("merged")), name="merge_survivor_not_merged"),
            # A customer is merged away at most once at a time.
            models.UniqueConstraint(fields=["merged"], condition=Q(undone_at__isnull=True), name="uniq_active_merge"),
        ]

    def __str__(self) -> str:
        return f"{self.merged_id} → {self.survivor_id}"


class DuplicateCandidate(TimeStampedModel):
    """A suggested pair (stored with ``customer_a_id < customer_b_id``) and how alike they are."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending review")
        MERGED = "merged", _("Merged")
        DISMISSED = "dismissed", _("Not a duplicate")

    # Indexed by uniq_duplicate_pair (customer_a, customer_b), which serves lookups by customer_a too.
    customer_a = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", db_index=False)
    customer_b = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    score = models.DecimalField(max_digits=5, decimal_places=4, help_text="0 (different) to 1 (same).")
    reasons = models.JSONField(default=dict, blank=True, help_text="Per-signal similarity (name, phone, postal code).")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reviewed_by = models.CharField(max_length=255, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint(fields=["customer_a", "customer_b"], name="uniq_duplicate_pair"),
            models.CheckConstraint(condition=Q(customer_a__lt=F("customer_b")), name="duplicate_pair_ordered"),
            models.CheckConstraint(condition=Q(score__gte=0) & Q(score__lte=1), name="duplicate_score_0_1"),
        ]
        indexes = [models.Index(fields=["status", "-score"], name="duplicate_status_score_idx")]

    def __str__(self) -> str:
        return f"{self.customer_a_id} ~ {self.customer_b_id} ({self.score})"
