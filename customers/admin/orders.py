"""Orders (read-only: they arrive through the ingest service) and products (edited through
``customers.services.products``)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from cdp.admin_mixins import (
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    ServiceDeleteAdminMixin,
    ServiceFormAdminMixin,
    model_field_names,
)
from cdp.context import actor_from_request
from customers.masking import request_visibility
from customers.models import Order, OrderItem
from customers.services.products import PRODUCT_FIELDS, product_delete, product_save
from tenants.admin_site import TenantModelAdmin


class OrderInline(ReadOnlyInline):
    """A customer's orders, under the customer."""

    model = Order
    fields = ("order_date", "source", "external_order_id", "status", "currency", "total_amount")
    readonly_fields = fields
    show_change_link = True
    ordering = ("-order_date",)
    max_num = 0


class OrderItemInline(ReadOnlyInline):
    model = OrderItem
    fields = ("sku", "name", "quantity", "unit_price", "total_price", "product")
    readonly_fields = fields


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
    readonly_fields = model_field_names(Order)

    # A reader without ``unmask`` (customers.masking) sees the customer by number, and not the
    # source payload or the shipping address, which quote the buyer's contact data.
    @admin.display(description=_("customer"))
    def customer_number(self, obj):
        return f"Customer {obj.customer_id}"

    def get_list_display(self, request):
        columns = super().get_list_display(request)
        if request_visibility(request).unmask:
            return columns
        return tuple("customer_number" if name == "customer" else name for name in columns)

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if request_visibility(request).unmask:
            return fields
        return ["customer_number" if name == "customer" else name for name in fields
                if name not in ("raw", "shipping_address")]

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if request_visibility(request).unmask else (*fields, "customer_number")


class ProductAdmin(ServiceFormAdminMixin, ServiceDeleteAdminMixin, TenantModelAdmin):
    list_display = ("sku", "name", "category", "brand", "price", "currency", "is_active")
    list_filter = ("is_active", "category", "brand")
    search_fields = ("=sku", "name")
    fields = PRODUCT_FIELDS

    def service_save(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in PRODUCT_FIELDS if name in form.cleaned_data}
        return product_save(product_id=obj.pk if change else None, data=data, actor=actor_from_request(request))

    def service_delete(self, request, obj):
        product_delete(product_id=obj.pk, actor=actor_from_request(request))
