"""Customers: writes go through the profile services (logged and audited); aggregates,
identities, orders and the change log are read-only here. The "Pseudonymize" and "Merge into…"
actions are declared here and written in ``customers.admin.privacy`` and ``customers.admin.merge``."""

from __future__ import annotations

from cdp.admin_mixins import (
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    ServiceDeleteAdminMixin,
    ServiceFormAdminMixin,
    model_field_names,
)
from cdp.context import actor_from_request
from customers.admin.merge import merge_customers_into
from customers.admin.orders import OrderInline
from customers.admin.privacy import pseudonymize_customers
from customers.models import Address, CustomerChangeLog, CustomerIdentity
from customers.services.profile import (
    MANUAL_ONLY_FIELDS,
    PROFILE_FIELDS,
    customer_create,
    customer_update,
    source_priority_delete,
    source_priority_set,
)
from tenants.admin_site import TenantModelAdmin

AGGREGATES = ("first_purchase_at", "last_purchase_at", "total_orders", "total_spent", "avg_order_value")


class IdentityInline(ReadOnlyInline):
    model = CustomerIdentity
    fields = ("source", "external_id", "created_at", "last_seen_at")
    readonly_fields = fields


class AddressInline(ReadOnlyInline):
    model = Address
    fields = ("address_type", "line1", "number", "city", "postal_code", "country", "is_default", "source")
    readonly_fields = fields


class ChangeLogInline(ReadOnlyInline):
    model = CustomerChangeLog
    fields = ("created_at", "field", "old_value", "new_value", "source", "changed_by", "reason")
    readonly_fields = fields
    ordering = ("-created_at",)


class CustomerAdmin(ServiceFormAdminMixin, TenantModelAdmin):
    list_display = ("id", "email", "first_name", "last_name", "document_number", "country", "status", "total_orders",
                    "total_spent", "last_purchase_at")
    list_filter = ("status", "customer_type", "country", "marketing_consent", "is_pseudonymized", "source")
    search_fields = ("=email", "=document_number", "first_name", "last_name", "=phone")
    readonly_fields = (*AGGREGATES, "source", "field_sources", "is_pseudonymized", "pseudonymized_at",
                       "merged_into", "created_at", "updated_at")
    fieldsets = (
        ("Identity", {"fields": ("email", "phone", "document_type", "document_number")}),
        ("Person", {"fields": ("first_name", "last_name", "birth_date", "gender", "city", "state", "country")}),
        ("Relationship", {"fields": ("customer_type", "status", "marketing_consent", "tags", "notes", "metadata")}),
        ("Orders (computed)", {"fields": AGGREGATES}),
        ("Provenance", {"fields": ("source", "field_sources", "is_pseudonymized", "pseudonymized_at",
                                   "merged_into", "created_at", "updated_at")}),
    )
    inlines = (IdentityInline, AddressInline, OrderInline, ChangeLogInline)
    actions = (pseudonymize_customers, merge_customers_into)
    ordering = ("-id",)
    show_full_result_count = False  # an exact COUNT(*) on a million customers on every page is wasteful

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # customers hold orders; pseudonymize instead
        return actions

    def has_delete_permission(self, request, obj=None):
        return False

    def service_save(self, request, obj, form, change):
        actor = actor_from_request(request)
        editable = set(PROFILE_FIELDS) | set(MANUAL_ONLY_FIELDS)
        if change:
            data = {name: form.cleaned_data[name] for name in form.changed_data if name in editable}
            return customer_update(customer_id=obj.pk, data=data, actor=actor, reason="manual edit (admin)")
        data = {name: form.cleaned_data[name] for name in editable if name in form.cleaned_data}
        return customer_create(data=data, actor=actor)


class CustomerChangeLogAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ("created_at", "customer", "field", "old_value", "new_value", "source", "changed_by", "reason")
    list_filter = ("source", "field")
    search_fields = ("=customer__id", "=customer__email", "field")
    list_select_related = ("customer",)
    show_full_result_count = False
    readonly_fields = model_field_names(CustomerChangeLog)


class SourcePriorityAdmin(ServiceFormAdminMixin, ServiceDeleteAdminMixin, TenantModelAdmin):
    """How much the tenant trusts each source, ranked through ``source_priority_set``."""

    list_display = ("source", "priority", "description")
    search_fields = ("source",)

    def service_save(self, request, obj, form, change):
        return source_priority_set(source=form.cleaned_data["source"], priority=form.cleaned_data["priority"],
                                   description=form.cleaned_data.get("description", ""),
                                   actor=actor_from_request(request))

    def service_delete(self, request, obj):
        source_priority_delete(source=obj.source, actor=actor_from_request(request))
