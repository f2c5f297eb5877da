"""Loyalty and B2B credit in the tenant's admin. The ledgers are read-only here: points and
credit move only through the services (actions below call them), so balances stay equal to the
sum of their ledgers."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Sum

from cdp.admin_mixins import ReadOnlyAdminMixin
from cdp.exceptions import ApplicationError
from customers.models import (
    CreditAccount,
    CreditPayment,
    CreditUsage,
    LoyaltyAccount,
    LoyaltyProgram,
    LoyaltyTierRule,
    LoyaltyTransaction,
)
from customers.services import credit as credit_services
from customers.services import loyalty as loyalty_services
from tenants.admin_site import TenantModelAdmin, can_manage_tenant, tenant_admin_site
from tenants.services import actor_from_request


class ReadOnlyAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    """Rows written only by services: viewable, never added, changed or deleted here."""

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields] + list(self.extra_readonly)

    extra_readonly: tuple = ()


@admin.register(LoyaltyProgram, site=tenant_admin_site)
class LoyaltyProgramAdmin(TenantModelAdmin):
    list_display = ("name", "is_active", "points_per_currency_unit", "points_validity_days", "tier_basis",
                    "tier_window_days", "updated_at")
    fields = loyalty_services.PROGRAM_FIELDS

    def changelist_view(self, request, extra_context=None):
        loyalty_services.loyalty_program_get()  # first use creates the program with defaults
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not LoyaltyProgram.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            program = loyalty_services.loyalty_program_get()
            obj.pk = program.pk
        values = {key: form.cleaned_data[key] for key in self.fields if key in form.cleaned_data}
        saved = loyalty_services.loyalty_program_update(actor=actor_from_request(request), values=values)
        obj.pk = saved.pk


@admin.register(LoyaltyTierRule, site=tenant_admin_site)
class LoyaltyTierRuleAdmin(TenantModelAdmin):
    list_display = ("tier", "rank", "min_spend", "min_points", "multiplier")
    fields = ("tier", "rank", "min_spend", "min_points", "multiplier", "benefits")
    readonly_fields = ("tier", "rank")
    ordering = ("rank",)

    def changelist_view(self, request, extra_context=None):
        loyalty_services.loyalty_program_get()  # creates the default rules on first use
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request):
        return False  # the four tiers are fixed; their thresholds are edited

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            loyalty_services.loyalty_tier_rule_update(
                tier=obj.tier, actor=actor_from_request(request), min_spend=form.cleaned_data["min_spend"],
                min_points=form.cleaned_data["min_points"], multiplier=form.cleaned_data["multiplier"],
                benefits=form.cleaned_data["benefits"])
        except ApplicationError as exc:
            self.message_user(request, f"Not saved: {exc.message}", level=messages.ERROR)


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    """Shown to the tenant's managers (membership role, not Django's per-model permissions)."""

    extra = 0
    can_delete = False
    max_num = 0

    def has_view_permission(self, request, obj=None):
        return can_manage_tenant(request.user)


class LoyaltyTransactionInline(ReadOnlyInline):
    model = LoyaltyTransaction
    fields = ("created_at", "type", "points", "remaining", "expires_at", "order", "reference", "description",
              "created_by")
    readonly_fields = fields
    ordering = ("-created_at", "-id")


@admin.register(LoyaltyAccount, site=tenant_admin_site)
class LoyaltyAccountAdmin(ReadOnlyAdmin):
    list_display = ("customer", "points_balance", "tier", "lifetime_points", "points_redeemed", "points_expired",
                    "tier_since", "updated_at")
    list_filter = ("tier",)
    search_fields = ("=customer__id", "=customer__email", "customer__last_name")
    list_select_related = ("customer",)
    inlines = (LoyaltyTransactionInline,)
    extra_readonly = ("ledger_balance",)
    show_full_result_count = False

    @admin.display(description="Ledger balance (sum of entries)")
    def ledger_balance(self, obj):
        return obj.transactions.aggregate(total=Sum("points"))["total"] or 0


@admin.register(LoyaltyTransaction, site=tenant_admin_site)
class LoyaltyTransactionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "account", "type", "points", "remaining", "expires_at", "order", "created_by")
    list_filter = ("type",)
    search_fields = ("=account__customer__id", "=account__customer__email", "reference")
    list_select_related = ("account", "order")
    date_hierarchy = "created_at"
    show_full_result_count = False


def _credit_action(service, verb: str, note_of):
    def action(modeladmin, request, queryset):
        done = 0
        for account in queryset:
            try:
                service(account=account, request=request, note=note_of(request, account))
                done += 1
            except ApplicationError as exc:
                modeladmin.message_user(request, f"{account}: {exc.message}", level=messages.ERROR)
        if done:
            modeladmin.message_user(request, f"{done} account(s) {verb}.", level=messages.SUCCESS)

    return action


def _approve(*, account, request, note):
    limit = account.requested_limit if account.status == CreditAccount.Status.REQUESTED else account.credit_limit
    credit_services.credit_account_approve(account_id=account.pk, credit_limit=limit or 0, note=note,
                                           actor=actor_from_request(request))


def _suspend(*, account, request, note):
    credit_services.credit_account_suspend(account_id=account.pk, note=note, actor=actor_from_request(request))


def _reinstate(*, account, request, note):
    credit_services.credit_account_reinstate(account_id=account.pk, note=note, actor=actor_from_request(request))


def _admin_note(verb: str):
    return lambda request, account: f"{verb} in the admin by {request.user}"


class CreditUsageInline(ReadOnlyInline):
    model = CreditUsage
    fields = ("order", "amount", "amount_paid", "due_date", "status", "paid_at", "created_at")
    readonly_fields = fields


@admin.register(CreditAccount, site=tenant_admin_site)
class CreditAccountAdmin(ReadOnlyAdmin):
    list_display = ("customer", "status", "credit_limit", "credit_used", "available", "requested_limit",
                    "payment_term_days", "approved_at", "approved_by")
    list_filter = ("status",)
    search_fields = ("=customer__id", "=customer__email", "customer__last_name")
    list_select_related = ("customer",)
    inlines = (CreditUsageInline,)
    extra_readonly = ("available",)
    actions = ("approve", "suspend", "reinstate")

    @admin.display(description="Available")
    def available(self, obj):
        return obj.credit_available

    @admin.action(description="Approve (requested limit, or keep the current one)")
    def approve(self, request, queryset):
        _credit_action(_approve, "approved", _admin_note("Approved"))(self, request, queryset)

    @admin.action(description="Suspend new usage")
    def suspend(self, request, queryset):
        _credit_action(_suspend, "suspended", _admin_note("Suspended"))(self, request, queryset)

    @admin.action(description="Reinstate")
    def reinstate(self, request, queryset):
        _credit_action(_reinstate, "reinstated", _admin_note("Reinstated"))(self, request, queryset)


@admin.register(CreditUsage, site=tenant_admin_site)
class CreditUsageAdmin(ReadOnlyAdmin):
    list_display = ("id", "account", "order", "amount", "amount_paid", "due_date", "status", "paid_at")
    list_filter = ("status", "due_date")
    search_fields = ("=account__customer__id", "=account__customer__email", "=order__external_order_id")
    list_select_related = ("account", "order")


@admin.register(CreditPayment, site=tenant_admin_site)
class CreditPaymentAdmin(ReadOnlyAdmin):
    list_display = ("paid_at", "account", "usage", "amount", "reference", "created_by")
    search_fields = ("=account__customer__id", "=account__customer__email", "reference")
    list_select_related = ("account", "usage")
    date_hierarchy = "paid_at"
