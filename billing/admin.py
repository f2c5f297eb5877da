"""Operators' admin (public host): every billing model, and the staff revenue page
(``admin/billing/revenue/``).

The catalog (categories, products, tax rates, coupons, gateways) and review moderation are written
through the catalog services, audited, with refusals on the form. What only the billing services
write (orders and their items and attempts, invoices, counters, gateway events, subscriptions,
MRR movements, redemptions, saved cards) is read-only here; orders and subscriptions are acted on
through per-row service actions.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Avg, Count, Q
from django.template.response import TemplateResponse
from django.utils.safestring import mark_safe

from billing import models as m
from billing.metrics import mrr_chart_svg, revenue_summary
from billing.services import (
    category_create,
    category_delete,
    category_update,
    coupon_create,
    coupon_update,
    order_payment_retry,
    order_refund,
    payment_gateway_create,
    payment_gateway_update,
    product_create,
    product_update,
    review_update,
    subscription_cancel,
    tax_rate_create,
    tax_rate_update,
)
from billing.services.catalog import (
    CATEGORY_EDITABLE,
    COUPON_EDITABLE,
    PAYMENT_GATEWAY_EDITABLE,
    PRODUCT_EDITABLE,
    REVIEW_EDITABLE,
    TAX_RATE_EDITABLE,
)
from cdp.admin_mixins import (
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    ServiceDeleteAdminMixin,
    ServiceFormAdminMixin,
    form_changes,
    service_action,
)
from cdp.context import actor_from_request


class CatalogAdmin(ServiceFormAdminMixin, admin.ModelAdmin):
    """A catalog table written through its create and update services; switched off, never deleted
    (orders and redemptions refer to its rows)."""

    editable: tuple[str, ...] = ()

    def service_create(self, *, actor, **fields):
        raise NotImplementedError

    def service_update(self, obj, *, actor, **fields):
        raise NotImplementedError

    def service_save(self, request, obj, form, change):
        fields = form_changes(form, change=change, fields=self.editable)
        if change:
            return self.service_update(obj, actor=actor_from_request(request), **fields)
        return self.service_create(actor=actor_from_request(request), **fields)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(m.Category)
class CategoryAdmin(ServiceDeleteAdminMixin, CatalogAdmin):
    list_display = ("name", "slug", "sort_order", "product_count")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    editable = CATEGORY_EDITABLE

    def service_create(self, *, actor, **fields):
        return category_create(actor=actor, **fields)

    def service_update(self, obj, *, actor, **fields):
        return category_update(category=obj, actor=actor, **fields)

    def has_delete_permission(self, request, obj=None):
        return admin.ModelAdmin.has_delete_permission(self, request, obj)  # products stay, uncategorized

    def service_delete(self, request, obj):
        category_delete(category=obj, actor=actor_from_request(request))

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_products=Count("products"))

    @admin.display(description="Products", ordering="_products")
    def product_count(self, obj):
        return obj._products


@admin.register(m.Product)
class ProductAdmin(CatalogAdmin):
    list_display = ("sku", "name", "category", "interval", "price", "original_price", "plan_code", "is_active",
                    "is_featured", "is_popular", "rating_average", "rating_count")
    list_filter = ("interval", "is_active", "is_featured", "is_popular", "category", "plan_code")
    search_fields = ("sku", "name", "description")
    readonly_fields = ("rating_average", "rating_count", "download_count", "created_at", "updated_at")
    editable = PRODUCT_EDITABLE

    def service_create(self, *, actor, **fields):
        return product_create(actor=actor, **fields)

    def service_update(self, obj, *, actor, **fields):
        return product_update(product=obj, actor=actor, **fields)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("category").annotate(
            _avg=Avg("reviews__rating", filter=Q(reviews__is_approved=True)),
            _count=Count("reviews", filter=Q(reviews__is_approved=True)))

    @admin.display(description="Rating", ordering="_avg")
    def rating_average(self, obj):
        value = getattr(obj, "_avg", None)
        return f"{value:.2f}" if value is not None else "–"

    @admin.display(description="Reviews", ordering="_count")
    def rating_count(self, obj):
        return getattr(obj, "_count", 0)


@admin.register(m.Review)
class ReviewAdmin(CatalogAdmin):
    """Moderation: reviews are written by tenants; operators correct or unapprove them."""

    list_display = ("product", "tenant", "rating", "title", "is_approved", "created_at")
    list_filter = ("rating", "is_approved")
    search_fields = ("product__sku", "tenant__slug", "title", "body")
    fields = ("product", "tenant", "author", *REVIEW_EDITABLE)
    readonly_fields = ("product", "tenant", "author")
    editable = REVIEW_EDITABLE

    def has_add_permission(self, request):
        return False

    def service_update(self, obj, *, actor, **fields):
        return review_update(review=obj, actor=actor, **fields)


@admin.register(m.Coupon)
class CouponAdmin(CatalogAdmin):
    list_display = ("code", "kind", "value", "valid_from", "valid_until", "times_redeemed", "max_redemptions",
                    "once_per_tenant", "is_active")
    list_filter = ("kind", "is_active", "once_per_tenant")
    search_fields = ("code",)
    readonly_fields = ("times_redeemed",)
    editable = COUPON_EDITABLE

    def service_create(self, *, actor, **fields):
        return coupon_create(actor=actor, **fields)

    def service_update(self, obj, *, actor, **fields):
        return coupon_update(coupon=obj, actor=actor, **fields)


@admin.register(m.TaxRate)
class TaxRateAdmin(CatalogAdmin):
    list_display = ("name", "country", "state", "rate", "inclusive", "is_active")
    list_filter = ("country", "inclusive", "is_active")
    search_fields = ("name", "country", "state")
    editable = TAX_RATE_EDITABLE

    def service_create(self, *, actor, **fields):
        return tax_rate_create(actor=actor, **fields)

    def service_update(self, obj, *, actor, **fields):
        return tax_rate_update(tax_rate=obj, actor=actor, **fields)


@admin.register(m.PaymentGateway)
class PaymentGatewayAdmin(CatalogAdmin):
    list_display = ("code", "name", "kind", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name")
    editable = PAYMENT_GATEWAY_EDITABLE

    def service_create(self, *, actor, **fields):
        return payment_gateway_create(actor=actor, **fields)

    def service_update(self, obj, *, actor, **fields):
        return payment_gateway_update(gateway=obj, actor=actor, **fields)


@admin.register(m.CouponRedemption)
class CouponRedemptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("coupon", "tenant", "order", "created_at")
    search_fields = ("coupon__code", "tenant__slug", "order__order_number")
    readonly_fields = ("coupon", "tenant", "order", "once_per_tenant", "created_at")


@admin.register(m.PaymentMethod)
class PaymentMethodAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """A tenant's saved cards: the tenant adds and removes them (portal, API)."""

    list_display = ("tenant", "gateway", "brand", "last4", "exp_month", "exp_year", "is_default")
    list_filter = ("brand", "gateway", "is_default")
    search_fields = ("tenant__slug", "last4")
    fields = ("tenant", "gateway", "brand", "last4", "exp_month", "exp_year", "is_default", "created_at")
    readonly_fields = fields  # never the gateway's reusable reference


class OrderItemInline(ReadOnlyInline):
    model = m.OrderItem
    readonly_fields = ("sku", "description", "quantity", "unit_price", "subtotal", "discount_amount", "tax_amount",
                       "total", "license_id")
    exclude = ("product",)


class PaymentAttemptInline(ReadOnlyInline):
    model = m.PaymentAttempt
    fields = ("created_at", "gateway", "idempotency_key", "amount", "status", "transaction_id", "decline_code",
              "message", "refund_id")
    readonly_fields = fields


class InvoiceInline(ReadOnlyInline):
    model = m.Invoice
    fk_name = "order"
    fields = ("number", "kind", "issued_at", "total")
    readonly_fields = fields


@admin.register(m.Order)
class OrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Orders come from checkouts and renewals; staff refund or retry them (per-row actions)."""

    list_display = ("order_number", "tenant", "kind", "status", "subtotal", "discount_amount", "tax_amount", "total",
                    "refunded_amount", "coupon", "created_at")
    list_filter = ("status", "kind", "tax_inclusive", "billing_country")
    search_fields = ("order_number", "tenant__slug", "tenant__name", "gateway_transaction_id")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in m.Order._meta.fields]
    inlines = (OrderItemInline, PaymentAttemptInline, InvoiceInline)
    actions = ("refund_orders", "retry_payment")

    @service_action(description="Refund in full (issues a credit note)", done="order(s) refunded")
    def refund_orders(order, *, actor, request):
        note = order_refund(order=order, actor=actor, reason="Refunded by staff")
        messages.success(request, f"{order.order_number}: credit note {note.number}.")

    @service_action(description="Retry payment with the default saved card", done="order(s) paid")
    def retry_payment(order, *, actor, request):
        result = order_payment_retry(order=order, actor=actor)
        messages.success(request, f"{order.order_number}: paid, invoice "
                                  f"{result.invoice.number if result.invoice else '-'}.")


@admin.register(m.Invoice)
class InvoiceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Fiscal documents: cancelled by credit notes, never edited or deleted."""

    list_display = ("number", "kind", "tenant", "order", "issued_at", "subtotal", "discount_amount", "tax_amount",
                    "total")
    list_filter = ("kind", "series")
    search_fields = ("number", "order__order_number", "tenant__slug")
    date_hierarchy = "issued_at"
    readonly_fields = [f.name for f in m.Invoice._meta.fields]


@admin.register(m.DocumentCounter)
class DocumentCounterAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("series", "last_number")
    search_fields = ("series",)
    readonly_fields = ("series", "last_number")


@admin.register(m.GatewayEvent)
class GatewayEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("received_at", "gateway", "event_id", "kind", "transaction_id", "result")
    list_filter = ("gateway", "kind", "result")
    search_fields = ("event_id", "transaction_id")
    readonly_fields = ("received_at", "gateway", "event_id", "kind", "transaction_id", "result")


@admin.register(m.Subscription)
class SubscriptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Subscriptions move by the billing services (checkout, renewals, dunning, plan changes);
    staff cancel them through the same service the owner uses."""

    list_display = ("tenant", "product", "interval", "price", "mrr_display", "status", "dunning_state",
                    "current_period_end", "next_retry_at", "failed_attempts")
    list_filter = ("status", "dunning_state", "interval")
    search_fields = ("tenant__slug", "tenant__name", "product__sku")
    readonly_fields = [f.name for f in m.Subscription._meta.fields] + ["mrr_display"]
    actions = ("cancel_at_period_end", "cancel_now")

    @admin.display(description="MRR")
    def mrr_display(self, obj):
        return obj.mrr

    @service_action(description="Cancel at the end of the paid period", done="subscription(s) set to end")
    def cancel_at_period_end(subscription, *, actor, request):
        subscription_cancel(subscription=subscription, actor=actor, at_period_end=True)

    @service_action(description="Cancel now (the license is cancelled too)", done="subscription(s) cancelled")
    def cancel_now(subscription, *, actor, request):
        subscription_cancel(subscription=subscription, actor=actor, at_period_end=False)


@admin.register(m.MrrMovement)
class MrrMovementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("occurred_at", "tenant", "subscription", "kind", "amount")
    list_filter = ("kind",)
    search_fields = ("tenant__slug",)
    date_hierarchy = "occurred_at"
    readonly_fields = ("occurred_at", "tenant", "subscription", "kind", "amount")



@admin.register(m.UsageCharge)
class UsageChargeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Usage billed on renewals (billing.registry's sources: AI requests...), one row per tenant,
    source and period."""

    list_display = ("period_start", "period_end", "tenant", "source", "amount", "order")
    list_filter = ("source",)
    search_fields = ("tenant__slug", "order__order_number")
    date_hierarchy = "period_start"
    readonly_fields = ("tenant", "source", "period_start", "period_end", "order", "lines", "amount", "created_at")

def revenue_view(request):
    """Staff page: MRR, ARR, movements, ARPA, coupon conversion, monthly series and chart."""
    summary = revenue_summary()
    context = {**admin.site.each_context(request), "title": "Revenue", "summary": summary,
               "chart": mark_safe(mrr_chart_svg(summary["series"]))}  # built from escaped labels and numbers
    return TemplateResponse(request, "billing/revenue.html", context)
