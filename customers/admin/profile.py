"""Customers: writes go through the profile services (logged and audited); aggregates,
identities, orders and the change log are read-only here. The "Pseudonymize" and "Merge into…"
actions are declared here and written in ``customers.admin.privacy`` and ``customers.admin.merge``."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from cdp.admin_mixins import (
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    ServiceDeleteAdminMixin,
    ServiceFormAdminMixin,
    model_field_names,
    service_action,
)
from cdp.context import actor_from_request
from customers.admin.merge import merge_customers_into
from customers.admin.orders import OrderInline
from customers.admin.privacy import pseudonymize_customers
from customers.access import Action, log_access, log_list
from customers.masking import (
    MASKED_FIELDS,
    SENSITIVE_FIELDS,
    change_values,
    mask_customer,
    mask_field,
    request_visibility,
)
from customers.models import Address, CustomerChangeLog, CustomerIdentity
from customers.services.recovery import change_revert
from customers.search import customer_search
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

    def has_view_permission(self, request, obj=None):
        # Old and new values quote e-mails, phones and documents in full: only for readers who
        # may see them (the change log page masks them for the others).
        return request_visibility(request).is_full and super().has_view_permission(request, obj)


class MaskedAdminMixin:
    """The tenant admin shows e-mail, phone and document masked, and the sensitive fields hidden,
    to a member without ``unmask`` / ``sensitive`` (an owner may take them from admins): masked
    list columns, a masked (display-only) object in the change form, those fields read-only."""

    #: Columns of ``list_display`` that are customer fields to mask (name -> field).
    masked_columns: dict[str, str] = {}

    def get_list_display(self, request):
        columns = super().get_list_display(request)
        visibility = request_visibility(request)
        if visibility.is_full:
            return columns
        return tuple(masked_column(name, self.masked_columns[name], visibility) if name in self.masked_columns
                     else name for name in columns)

    def get_object(self, request, object_id, from_field=None):
        return mask_customer(super().get_object(request, object_id, from_field), request_visibility(request))

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        visibility = request_visibility(request)
        hidden = () if visibility.unmask else MASKED_FIELDS
        hidden += () if visibility.sensitive else SENSITIVE_FIELDS
        return fields + tuple(name for name in hidden if name not in fields)


class AccessLoggedAdminMixin:
    """Lists and pages of customers opened in the admin go to the data-access log like any read."""

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl") if hasattr(response, "context_data") else None
        if changelist is not None:
            log_list(request, rows=len(changelist.result_list))
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            log_access(request, action=Action.PROFILE_READ, resource_id=object_id, rows=1)
        return response


def masked_column(name: str, field: str, visibility):
    def column(obj):
        return mask_field(field, getattr(obj, field), visibility)

    column.short_description = name.replace("_", " ")
    column.__name__ = f"masked_{name}"
    return column


def customer_ref(obj):
    # A customer's str() falls back on its e-mail: the masked list names it by id instead.
    return f"Customer {obj.customer_id}"


customer_ref.short_description = "customer"


def masked_change_column(attr: str, visibility):
    def column(obj):
        old, new = change_values(obj.field, obj.old_value, obj.new_value, visibility)
        return old if attr == "old_value" else new

    column.short_description = attr.replace("_", " ")
    column.__name__ = f"masked_{attr}"
    return column


class CustomerAdmin(AccessLoggedAdminMixin, MaskedAdminMixin, ServiceFormAdminMixin, TenantModelAdmin):
    masked_columns = {"email": "email", "document_number": "document_number"}

    # Seven columns fit a 1366 px screen (ten did not: half were off-screen); the rest is one click away.
    list_display = ("name", "email", "document_number", "country", "status", "total_spent", "last_purchase_at")
    list_filter = ("status", "customer_type", "country", "marketing_consent", "is_pseudonymized", "source")
    # The admin's search box runs customers.search (accent-insensitive word prefixes, on an index);
    # a search_fields entry is still needed for Django to show the box.
    search_fields = ("=email",)
    search_help_text = "Names, e-mail or part of it, document or phone: accents and case do not matter."

    @admin.display(description=_("name"), ordering="last_name")
    def name(self, obj) -> str:
        # Not str(obj): it falls back on the e-mail, which a masked reader must not see in full.
        return f"{obj.first_name} {obj.last_name}".strip() or f"Customer {obj.pk}"
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

    def get_search_results(self, request, queryset, search_term):
        return customer_search(queryset, search_term), False
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


@service_action(description=_("Revert the selected changes (put back the previous values)"),
                done=_("change(s) reverted"), ordering=("-created_at", "-id"))
def revert_changes(change, *, actor, request):
    # Newest first: reverting an older change of the same field first would find it superseded.
    change_revert(change_id=change.pk, actor=actor, reason="admin action")


class CustomerChangeLogAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    actions = (revert_changes,)

    list_display = ("created_at", "customer", "field", "old_value", "new_value", "source", "changed_by", "reason")
    list_filter = ("source", "field")
    search_fields = ("=customer__id", "=customer__email", "field")
    list_select_related = ("customer",)
    show_full_result_count = False
    readonly_fields = model_field_names(CustomerChangeLog)

    def get_list_display(self, request):
        visibility = request_visibility(request)
        if visibility.is_full:
            return self.list_display
        return tuple(masked_change_column(name, visibility) if name in ("old_value", "new_value")
                     else customer_ref if name == "customer" else name for name in self.list_display)

    def has_view_permission(self, request, obj=None):
        # One entry's page shows its values in full: only for readers who may see them.
        if obj is not None and not request_visibility(request).is_full:
            return False
        return super().has_view_permission(request, obj)


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
