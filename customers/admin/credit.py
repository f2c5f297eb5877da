"""B2B credit in the tenant's admin: accounts (read-only, with the staff decisions as actions),
their usages and payments (read-only). Credit moves only through the credit services, so
``credit_used`` stays equal to what the open usages owe."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from cdp.admin_mixins import ReadOnlyAdminMixin, ReadOnlyInline, model_field_names, service_action
from customers.models import CreditAccount, CreditPayment, CreditUsage
from customers.services.credit import (
    credit_account_approve,
    credit_account_reinstate,
    credit_account_reject,
    credit_account_suspend,
)
from tenants.admin_site import TenantModelAdmin


def _note(verb: str, request) -> str:
    return f"{verb} in the admin by {request.user}"


@service_action(description=_("Approve (requested limit, or keep the current one)"), done=_("account(s) approved"))
def approve(account, *, actor, request):
    limit = account.requested_limit if account.status == CreditAccount.Status.REQUESTED else account.credit_limit
    credit_account_approve(account_id=account.pk, credit_limit=limit or 0, note=_note("Approved", request),
                           actor=actor)


@service_action(description=_("Reject the request"), done=_("request(s) rejected"))
def reject(account, *, actor, request):
    credit_account_reject(account_id=account.pk, note=_note("Rejected", request), actor=actor)


@service_action(description=_("Suspend new usage"), done=_("account(s) suspended"))
def suspend(account, *, actor, request):
    credit_account_suspend(account_id=account.pk, note=_note("Suspended", request), actor=actor)


@service_action(description=_("Reinstate"), done=_("account(s) reinstated"))
def reinstate(account, *, actor, request):
    credit_account_reinstate(account_id=account.pk, note=_note("Reinstated", request), actor=actor)


class CreditUsageInline(ReadOnlyInline):
    model = CreditUsage
    fields = ("order", "amount", "amount_paid", "due_date", "status", "paid_at", "created_at")
    readonly_fields = fields


class CreditAccountAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ("customer", "status", "credit_limit", "credit_used", "available", "requested_limit",
                    "payment_term_days", "approved_at", "approved_by")
    list_filter = ("status",)
    search_fields = ("=customer__id", "=customer__email", "customer__last_name")
    list_select_related = ("customer",)
    inlines = (CreditUsageInline,)
    readonly_fields = model_field_names(CreditAccount, "available")
    actions = (approve, reject, suspend, reinstate)

    @admin.display(description=_("Available"))
    def available(self, obj):
        return obj.credit_available


class CreditUsageAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ("id", "account", "order", "amount", "amount_paid", "due_date", "status", "paid_at")
    list_filter = ("status", "due_date")
    search_fields = ("=account__customer__id", "=account__customer__email", "=order__external_order_id")
    list_select_related = ("account", "order")
    readonly_fields = model_field_names(CreditUsage)


class CreditPaymentAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ("paid_at", "account", "usage", "amount", "reference", "created_by")
    search_fields = ("=account__customer__id", "=account__customer__email", "reference")
    list_select_related = ("account", "usage")
    date_hierarchy = "paid_at"
    readonly_fields = model_field_names(CreditPayment)
