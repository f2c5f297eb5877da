"""Loyalty in the tenant's admin. The program and its tier rules are edited through the loyalty
services; the ledger is read-only here: points move only through the services (API, events), so
balances stay equal to the sum of their ledgers."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from cdp.admin_mixins import (
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    ServiceFormAdminMixin,
    model_field_names,
    service_action,
)
from cdp.context import actor_from_request
from loyalty.models import (
    CrossPromoChain,
    Event,
    EventRegistration,
    LoyaltyAccount,
    LoyaltyProgram,
    LoyaltyTierRule,
    LoyaltyTransaction,
    Offer,
    Partner,
    PartnerApiKey,
    PartnerSettlement,
    Referral,
    ReferralCode,
    Reward,
    RewardRedemption,
    Voucher,
)
from loyalty.selectors import voucher_code_normalize
from loyalty.services import (
    chain_create,
    chain_update,
    event_create,
    event_update,
    PROGRAM_FIELDS,
    loyalty_program_update,
    loyalty_tier_rule_update,
    offer_create,
    offer_issue,
    offer_update,
    partner_create,
    partner_settlements_compute,
    partner_update,
    referral_review,
    reward_create,
    reward_update,
    voucher_void,
)
from loyalty.services.coalition import PARTNER_FIELDS
from loyalty.services.crosspromo import CHAIN_FIELDS
from loyalty.services.events import EVENT_FIELDS
from loyalty.services.offers import OFFER_FIELDS
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


# --- the coalition --------------------------------------------------------------------------------

class PartnerAdmin(ServiceFormAdminMixin, TenantModelAdmin):
    list_display = ("name", "slug", "category", "status", "funding_share", "earn_multiplier", "updated_at")
    list_filter = ("status", "category")
    search_fields = ("name", "slug")
    fields = PARTNER_FIELDS

    def has_delete_permission(self, request, obj=None):
        return False  # vouchers and redemptions name it: end it (status) instead

    def service_save(self, request, obj, form, change):
        values = {key: form.cleaned_data[key] for key in PARTNER_FIELDS if key in form.cleaned_data}
        actor = actor_from_request(request)
        if change:
            return partner_update(partner_id=obj.pk, actor=actor, values=values)
        return partner_create(actor=actor, values=values)


class RewardAdmin(ServiceFormAdminMixin, TenantModelAdmin):
    list_display = ("name", "partner", "points_cost", "kind", "value", "validity_days", "is_active")
    list_filter = ("is_active", "kind", "partner")
    search_fields = ("name",)
    list_select_related = ("partner",)
    fields = ("name", "description", "partner", "points_cost", "kind", "value", "item_name", "min_spend",
              "validity_days", "per_customer_limit", "is_active")

    def has_delete_permission(self, request, obj=None):
        return False  # redemptions name it: deactivate it instead

    def service_save(self, request, obj, form, change):
        values = {key: form.cleaned_data[key] for key in self.fields if key != "partner"}
        partner = form.cleaned_data.get("partner")
        values["partner_id"] = partner.pk if partner else None
        actor = actor_from_request(request)
        if change:
            return reward_update(reward_id=obj.pk, actor=actor, values=values)
        return reward_create(actor=actor, values=values)


@service_action(description=_("Void the selected vouchers"), done=_("voucher(s) voided"))
def void_vouchers(voucher, *, actor, request):
    voucher_void(voucher_id=voucher.pk, actor=actor, reason="voided in the admin")


class VoucherAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ("code", "customer", "partner", "kind", "value", "status", "origin", "valid_until", "created_at")
    list_filter = ("status", "origin", "kind", "partner")
    search_fields = ("=code", "=customer__id", "=customer__email")
    list_select_related = ("customer", "partner")
    readonly_fields = model_field_names(Voucher)
    actions = (void_vouchers,)
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        # Codes are typed as printed (dashes, lowercase): search the stored form.
        return super().get_search_results(request, queryset, voucher_code_normalize(search_term)
                                          if "@" not in search_term else search_term)


class RewardRedemptionAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ("created_at", "customer", "reward", "points", "voucher", "created_by")
    list_filter = ("reward",)
    search_fields = ("=customer__id", "=voucher__code")
    list_select_related = ("customer", "reward", "voucher")
    readonly_fields = model_field_names(RewardRedemption, exclude=("request_hash",))
    exclude = ("request_hash",)
    show_full_result_count = False


class PartnerApiKeyAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ("partner", "api_key_id", "created_by", "created_at")
    list_select_related = ("partner",)
    readonly_fields = model_field_names(PartnerApiKey)


@service_action(description=_("Approve the selected referrals (both get their points)"),
                done=_("referral(s) approved"))
def approve_referrals(referral, *, actor, request):
    referral_review(referral_id=referral.pk, approve=True, actor=actor)


@service_action(description=_("Reject the selected referrals"), done=_("referral(s) rejected"))
def reject_referrals(referral, *, actor, request):
    referral_review(referral_id=referral.pk, approve=False, actor=actor)


class ReferralAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    """Referrals; those held for review (self-referral, monthly cap) are approved or rejected here."""

    list_display = ("created_at", "referrer", "referred", "code", "status", "reason", "reviewed_by")
    list_filter = ("status", "reason")
    search_fields = ("=code", "=referrer__id", "=referred__id")
    list_select_related = ("referrer", "referred")
    readonly_fields = model_field_names(Referral)
    actions = (approve_referrals, reject_referrals)
    show_full_result_count = False


class ReferralCodeAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ("code", "customer", "created_at")
    search_fields = ("=code", "=customer__id", "=customer__email")
    list_select_related = ("customer",)
    readonly_fields = model_field_names(ReferralCode)


class EventRegistrationInline(ReadOnlyInline):
    model = EventRegistration
    fields = ("customer", "status", "queued_at", "checked_in_at", "reminded_at")
    readonly_fields = fields
    ordering = ("queued_at", "id")


class EventAdmin(ServiceFormAdminMixin, TenantModelAdmin):
    list_display = ("title", "partner", "starts_at", "capacity", "status", "checkin_points")
    list_filter = ("status", "partner")
    search_fields = ("title",)
    list_select_related = ("partner",)
    fields = ("title", "description", "partner", "starts_at", "ends_at", "location", "capacity", "status",
              "checkin_points", "reminder_hours")
    inlines = (EventRegistrationInline,)

    def has_delete_permission(self, request, obj=None):
        return False  # cancel it (status) instead: registrations and points name it

    def service_save(self, request, obj, form, change):
        values = {key: form.cleaned_data[key] for key in EVENT_FIELDS if key in form.cleaned_data}
        partner = form.cleaned_data.get("partner")
        values["partner_id"] = partner.pk if partner else None
        actor = actor_from_request(request)
        if change:
            return event_update(event_id=obj.pk, actor=actor, values=values)
        return event_create(actor=actor, values=values)


class CrossPromoChainAdmin(ServiceFormAdminMixin, TenantModelAdmin):
    list_display = ("name", "source_partner", "target_partner", "min_amount", "kind", "value", "is_active")
    list_filter = ("is_active", "source_partner", "target_partner")
    search_fields = ("name",)
    list_select_related = ("source_partner", "target_partner")
    fields = ("name", "source_partner", "target_partner", "min_amount", "kind", "value", "item_name", "min_spend",
              "validity_days", "is_active")

    def has_delete_permission(self, request, obj=None):
        return False  # its vouchers name it: deactivate it instead

    def service_save(self, request, obj, form, change):
        values = {key: form.cleaned_data[key] for key in CHAIN_FIELDS
                  if not key.endswith("_partner_id") and key in form.cleaned_data}
        for key in ("source_partner", "target_partner"):
            partner = form.cleaned_data.get(key)
            values[f"{key}_id"] = partner.pk if partner else None
        actor = actor_from_request(request)
        if change:
            return chain_update(chain_id=obj.pk, actor=actor, values=values)
        return chain_create(actor=actor, values=values)


@service_action(description=_("Issue the selected offers' vouchers now"), done=_("offer(s) issued"))
def issue_offers(offer, *, actor, request):
    offer_issue(offer_id=offer.pk, actor=actor)


class OfferAdmin(ServiceFormAdminMixin, TenantModelAdmin):
    """Partner offers: who they target (tiers, an audience of customer filters), the voucher, the
    budget and dates; the action issues the vouchers to the matching members."""

    list_display = ("name", "partner", "status", "kind", "value", "budget", "starts_at", "ends_at")
    list_filter = ("status", "partner")
    search_fields = ("name",)
    list_select_related = ("partner",)
    fields = ("name", "description", "partner", "status", "tiers", "audience", "kind", "value", "item_name",
              "min_spend", "validity_days", "budget", "starts_at", "ends_at")
    actions = (issue_offers,)

    def has_delete_permission(self, request, obj=None):
        return False  # its vouchers name it: end it instead

    def service_save(self, request, obj, form, change):
        values = {key: form.cleaned_data[key] for key in OFFER_FIELDS
                  if key != "partner_id" and key in form.cleaned_data}
        partner = form.cleaned_data.get("partner")
        values["partner_id"] = partner.pk if partner else None
        actor = actor_from_request(request)
        if change:
            return offer_update(offer_id=obj.pk, actor=actor, values=values)
        return offer_create(actor=actor, values=values)


@service_action(description=_("Recompute the selected statements' months"), done=_("statement(s) recomputed"))
def recompute_settlements(statement, *, actor, request):
    partner_settlements_compute(period=statement.period_start, actor=actor)


class PartnerSettlementAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    """Monthly partner statements (computed nightly for this and last month, or through the API's
    ``loyalty/settlements/compute/``): funded against redeemed points, and who owes whom."""

    list_display = ("period_start", "partner", "points_earned", "points_funded", "points_redeemed", "net_points",
                    "amount", "currency", "computed_at")
    list_filter = ("partner", "period_start")
    list_select_related = ("partner",)
    date_hierarchy = "period_start"
    readonly_fields = model_field_names(PartnerSettlement)
    actions = (recompute_settlements,)


for model, model_admin in (
    (Partner, PartnerAdmin),
    (Reward, RewardAdmin),
    (Voucher, VoucherAdmin),
    (RewardRedemption, RewardRedemptionAdmin),
    (PartnerApiKey, PartnerApiKeyAdmin),
    (Referral, ReferralAdmin),
    (ReferralCode, ReferralCodeAdmin),
    (Event, EventAdmin),
    (CrossPromoChain, CrossPromoChainAdmin),
    (PartnerSettlement, PartnerSettlementAdmin),
    (Offer, OfferAdmin),
):
    tenant_admin_site.register(model, model_admin)
