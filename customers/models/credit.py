"""B2B credit: one account per customer, usage against orders and the payments that free it."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from cdp.models import TimeStampedModel
from customers.models.orders import Order
from customers.models.profile import Customer


class CreditAccount(TimeStampedModel):
    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        APPROVED = "approved", _("Approved")
        SUSPENDED = "suspended", _("Suspended")
        REJECTED = "rejected", _("Rejected")

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="credit_account")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.REQUESTED)
    credit_limit = models.DecimalField(max_digits=15, decimal_places=2, default=0)
    credit_used = models.DecimalField(max_digits=15, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, blank=True)
    payment_term_days = models.PositiveIntegerField(default=30)
    requested_limit = models.DecimalField(max_digits=15, decimal_places=2, null=True, blank=True)
    approval_note = models.TextField(blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.CharField(max_length=255, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspension_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(credit_limit__gte=0), name="credit_limit_gte_0"),
            models.CheckConstraint(condition=Q(credit_used__gte=0), name="credit_used_gte_0"),
            models.CheckConstraint(condition=Q(credit_used__lte=F("credit_limit")), name="credit_used_lte_limit"),
        ]
        indexes = [models.Index(fields=["status"], name="credit_account_status_idx")]

    def __str__(self) -> str:
        return f"Credit {self.customer_id} ({self.status})"

    @property
    def credit_available(self):
        return self.credit_limit - self.credit_used


class CreditUsage(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PAID = "paid", _("Paid")
        OVERDUE = "overdue", _("Overdue")

    account = models.ForeignKey(CreditAccount, on_delete=models.CASCADE, related_name="usages")
    # Indexed by uniq_credit_usage_order (every non-null order; a lookup by order never asks for NULL).
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              db_index=False)
    amount = models.DecimalField(max_digits=15, decimal_places=2)
    amount_paid = models.DecimalField(max_digits=15, decimal_places=2, default=0)
    due_date = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    paid_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=Q(order__isnull=False), name="uniq_credit_usage_order"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_usage_amount_gt_0"),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0) & Q(amount_paid__lte=F("amount")), name="credit_usage_paid_in_range"
            ),
        ]
        indexes = [models.Index(fields=["status", "due_date"], name="credit_usage_status_due_idx")]

    def __str__(self) -> str:
        return f"{self.amount} due {self.due_date} ({self.status})"


class CreditPayment(models.Model):
    account = models.ForeignKey(CreditAccount, on_delete=models.CASCADE, related_name="payments")
    usage = models.ForeignKey(CreditUsage, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments")
    amount = models.DecimalField(max_digits=15, decimal_places=2)
    paid_at = models.DateTimeField()
    reference = models.CharField(max_length=255, blank=True)
    note = models.TextField(blank=True)
    created_by = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-paid_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="credit_payment_amount_gt_0")]

    def __str__(self) -> str:
        return f"{self.amount} on {self.paid_at:%Y-%m-%d}"
