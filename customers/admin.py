"""Customers in the tenant's admin: writes go through the services (logged and audited);
aggregates, identities, orders and the change log are read-only here."""

from __future__ import annotations

from django.contrib import admin

from cdp.admin_mixins import ReadOnlyAdminMixin, ReadOnlyInline, ServiceFormAdminMixin
from customers.models import (
    Address,
    Customer,
    CustomerChangeLog,
    CustomerIdentity,
    Order,
    OrderItem,
    Product,
    SourcePriority,
)
from customers.services import customer_create, customer_update, source_priority_set
from customers.services.profile import MANUAL_ONLY_FIELDS, PROFILE_FIELDS
from tenants.admin_site import TenantModelAdmin, tenant_admin_site
from tenants.services import actor_from_request

AGGREGATES = ("first_purchase_at", "last_purchase_at", "total_orders", "total_spent", "avg_order_value")


class IdentityInline(ReadOnlyInline):
    model = CustomerIdentity
    fields = ("source", "external_id", "created_at", "last_seen_at")
    readonly_fields = fields


class AddressInline(ReadOnlyInline):
    model = Address
    fields = ("address_type", "line1", "number", "city", "postal_code", "country", "is_default", "source")
    readonly_fields = fields


class OrderInline(ReadOnlyInline):
    model = Order
    fields = ("order_date", "source", "external_order_id", "status", "currency", "total_amount")
    readonly_fields = fields
    show_change_link = True
    ordering = ("-order_date",)
    max_num = 0


class ChangeLogInline(ReadOnlyInline):
    model = CustomerChangeLog
    fields = ("created_at", "field", "old_value", "new_value", "source", "changed_by", "reason")
    readonly_fields = fields
    ordering = ("-created_at",)


@admin.register(Customer, site=tenant_admin_site)
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


class OrderItemInline(ReadOnlyInline):
    model = OrderItem
    fields = ("sku", "name", "quantity", "unit_price", "total_price", "product")
    readonly_fields = fields


@admin.register(Order, site=tenant_admin_site)
class OrderAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    """Orders arrive through the ingest service only, so they are read-only here."""

    list_display = ("external_order_id", "order_number", "source", "order_date", "status", "payment_status",
                    "currency", "total_amount", "customer")
    list_filter = ("source", "status", "payment_status", "currency", "order_date")
    search_fields = ("=external_order_id", "=order_number", "=customer__email")
    list_select_related = ("customer",)
    autocomplete_fields = ("customer",)
    date_hierarchy = "order_date"
    inlines = (OrderItemInline,)
    ordering = ("-order_date",)
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Order._meta.fields]


@admin.register(CustomerChangeLog, site=tenant_admin_site)
class CustomerChangeLogAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ("created_at", "customer", "field", "old_value", "new_value", "source", "changed_by", "reason")
    list_filter = ("source", "field")
    search_fields = ("=customer__id", "=customer__email", "field")
    list_select_related = ("customer",)
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in CustomerChangeLog._meta.fields]


@admin.register(SourcePriority, site=tenant_admin_site)
class SourcePriorityAdmin(TenantModelAdmin):
    list_display = ("source", "priority", "description")
    search_fields = ("source",)

    def save_model(self, request, obj, form, change):
        saved = source_priority_set(source=obj.source, priority=obj.priority, description=obj.description,
                                    actor=actor_from_request(request))
        obj.pk = saved.pk


@admin.register(Product, site=tenant_admin_site)
class ProductAdmin(TenantModelAdmin):
    list_display = ("sku", "name", "category", "brand", "price", "currency", "is_active")
    list_filter = ("is_active", "category", "brand")
    search_fields = ("=sku", "name")
import customers.admin_privacy_merge  # noqa: E402,F401  (privacy and merge admin, actions on CustomerAdmin)
import customers.admin_loyalty_credit  # noqa: E402,F401  (loyalty and credit admin)
import customers.admin_sales  # noqa: E402,F401  (the counted-sale rule and its recomputations)
