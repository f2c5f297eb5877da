"""Loyalty in the tenant's admin. The program and its tier rules are edited through the loyalty
services; the ledger is read-only here: points move only through the services (API, events), so
balances stay equal to the sum of their ledgers."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from cdp.admin_mixins import ReadOnlyAdminMixin, ReadOnlyInline, ServiceFormAdminMixin, model_field_names
from cdp.context import actor_from_request
from loyalty.models import LoyaltyAccount, LoyaltyProgram, LoyaltyTierRule, LoyaltyTransaction
from loyalty.services import PROGRAM_FIELDS, loyalty_program_update, loyalty_tier_rule_update
from tenants.admin_site import TenantModelAdmin, tenant_admin_site


class LoyaltyProgramAdmin(ServiceFormAdminMixin, TenantModelAdmin):
    list_display = ("name", "is_active", "points_per_currency_unit", "points_validity_days", "tier_basis",
                    "tier_window_days", "updated_at")
    fields = PROGRAM_FIELDS

    def has_add_permission(self, request):
        # The program is created with the tenant; the add page is only for a tenant without one.
        return super().has_add_permission(request) and not LoyaltyProgram.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def service_save(self, request, obj, form, change):
        values = {key: form.cleaned_data[key] for key in PROGRAM_FIELDS if key in form.cleaned_data}
        return loyalty_program_update(actor=actor_from_request(request), values=values)


class LoyaltyTierRuleAdmin(ServiceFormAdminMixin, TenantModelAdmin):
    list_display = ("tier", "rank", "min_spend", "min_points", "multiplier")
    fields = ("tier", "rank", "min_spend", "min_points", "multiplier", "benefits")
    readonly_fields = ("tier", "rank")
    ordering = ("rank",)

    def has_add_permission(self, request):
        return False  # the four tiers are fixed; their thresholds are edited

    def has_delete_permission(self, request, obj=None):
        return False

    def service_save(self, request, obj, form, change):
        return loyalty_tier_rule_update(
            tier=obj.tier, actor=actor_from_request(request), min_spend=form.cleaned_data["min_spend"],
            min_points=form.cleaned_data["min_points"], multiplier=form.cleaned_data["multiplier"],
            benefits=form.cleaned_data["benefits"])


class LoyaltyTransactionInline(ReadOnlyInline):
    model = LoyaltyTransaction
    fields = ("created_at", "type", "points", "remaining", "expires_at", "order", "reference", "description",
              "created_by")
    readonly_fields = fields
    ordering = ("-created_at", "-id")


class LoyaltyAccountAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ("customer", "points_balance", "tier", "lifetime_points", "points_redeemed", "points_expired",
                    "tier_since", "updated_at")
    list_filter = ("tier",)
    search_fields = ("=customer__id", "=customer__email", "customer__last_name")
    list_select_related = ("customer",)
    inlines = (LoyaltyTransactionInline,)
    readonly_fields = model_field_names(LoyaltyAccount, "ledger_balance")
    show_full_result_count = False

    @admin.display(description=_("Ledger balance (sum of entries)"))
    def ledger_balance(self, obj):
        return obj.transactions.aggregate(total=Sum("points"))["total"] or 0


class LoyaltyTransactionAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ("created_at", "account", "type", "points", "remaining", "expires_at", "order", "created_by")
    list_filter = ("type",)
    search_fields = ("=account__customer__id", "=account__customer__email", "reference")
    list_select_related = ("account", "order")
    date_hierarchy = "created_at"
    readonly_fields = model_field_names(LoyaltyTransaction)
    show_full_result_count = False


REGISTERED = (
    (LoyaltyProgram, LoyaltyProgramAdmin),
    (LoyaltyTierRule, LoyaltyTierRuleAdmin),
    (LoyaltyAccount, LoyaltyAccountAdmin),
    (LoyaltyTransaction, LoyaltyTransactionAdmin),
)

for model, model_admin in REGISTERED:
    tenant_admin_site.register(model, model_admin)
