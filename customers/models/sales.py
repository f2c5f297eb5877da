"""What a sale is: the tenant's counted-sale rule, and the recorded recomputation of everything
computed from it when it changes.

Every figure built from orders (the customer aggregates of the Customer 360, RFM, CLV, churn,
cohorts, KPIs, loyalty earning, segment rules and data quality) counts the orders whose status is
in ``CountedSaleRule.statuses``, read through ``customers.selectors.sales.counted_statuses``. This
module's ``DEFAULT_COUNTED_STATUSES`` is the only place the default is written down.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cdp.models import TimeStampedModel
from customers.models.orders import Order

#: Paid, invoiced and completed orders are sales; pending (not paid yet), cancelled and refunded
#: orders are not.
DEFAULT_COUNTED_STATUSES = (Order.Status.PAID.value, Order.Status.INVOICED.value, Order.Status.COMPLETED.value)


def default_counted_statuses() -> list[str]:
    return list(DEFAULT_COUNTED_STATUSES)


class CountedSaleRule(TimeStampedModel):
    """The tenant's counted-sale rule (at most one row: ``key`` is constant and unique). Without a
    row the default applies. Changed only by ``customers.services.sales.counted_statuses_set``."""

    key = models.CharField(max_length=10, default="sales", unique=True, editable=False)
    statuses = ArrayField(models.CharField(max_length=20, choices=Order.Status.choices),
                          default=default_counted_statuses,
                          help_text="Order statuses that count as a sale.")
    changed_by = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = "counted-sale rule"

    def __str__(self) -> str:
        return ", ".join(self.statuses)


class SalesRecomputeJob(TimeStampedModel):
    """One recorded recomputation after the counted-sale rule changed: customer aggregates, then
    what other apps registered (loyalty, then analytics). At most one queued or running."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    statuses_before = ArrayField(models.CharField(max_length=20), default=list)
    statuses_after = ArrayField(models.CharField(max_length=20), default=list)
    steps = models.JSONField(default=list, help_text="Steps in run order.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    current_step = models.CharField(max_length=50, blank=True)
    progress = models.JSONField(default=dict, blank=True, help_text="Per step: done, total and a summary.")
    #: Constant: the partial unique constraint below allows one active job per tenant schema.
    lock_key = models.CharField(max_length=10, default="sales", editable=False)
    requested_by = models.CharField(max_length=255, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["lock_key"], condition=Q(status__in=["queued", "running"]),
                                    name="uniq_active_sales_recompute"),
        ]

    def __str__(self) -> str:
        return f"Recompute {', '.join(self.statuses_after)} ({self.status})"
