"""Operators' admin (public host): every billing model, actions that call services, and the
staff revenue page (``admin/billing/revenue/``)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Avg, Count, Q
from django.template.response import TemplateResponse
from django.utils.safestring import mark_safe

from billing import models as m
from billing.metrics import mrr_chart_svg, revenue_summary
from billing.services import PaymentDeclined, order_payment_retry, order_refund
from cdp.exceptions import ApplicationError
from tenants.services import actor_from_request


@admin.register(m.Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "sort_order", "product_count")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_products=Count("products"))

    @admin.display(description="Products", ordering="_products")
    def product_count(self, obj):
        return obj._products


@admin.register(m.Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "category", "interval", "price", "original_price", "plan_code", "is_active",
                    "is_featured", "is_popular", "rating_average", "rating_count")
    list_filter = ("interval", "is_active", "is_featured", "is_popular", "category", "plan_code")
    search_fields = ("sku", "name", "description")
    readonly_fields = ("rating_average", "rating_count", "download_count", "created_at", "updated_at")

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
class ReviewAdmin(admin.ModelAdmin):
    list_display = ("product", "tenant", "rating", "title", "is_approved", "created_at")
    list_filter = ("rating", "is_approved")
    search_fields = ("product__sku", "tenant__slug", "title", "body")
    autocomplete_fields = ("product",)
    raw_id_fields = ("tenant",)


@admin.register(m.Coupon)
class CouponAdmin(admin.ModelAdmin):
    list_display = ("code", "kind", "value", "valid_from", "valid_until", "times_redeemed", "max_redemptions",
                    "once_per_tenant", "is_active")
    list_filter = ("kind", "is_active", "once_per_tenant")
    search_fields = ("code",)
    readonly_fields = ("times_redeemed",)


@admin.register(m.CouponRedemption)
class CouponRedemptionAdmin(admin.ModelAdmin):
    list_display = ("coupon", "tenant", "order", "created_at")
    search_fields = ("coupon__code", "tenant__slug", "order__order_number")
    readonly_fields = ("coupon", "tenant", "order", "once_per_tenant", "created_at")


@admin.register(m.TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    list_display = ("name", "country", "state", "rate", "inclusive", "is_active")
    list_filter = ("country", "inclusive", "is_active")
    search_fields = ("name", "country", "state")


@admin.register(m.PaymentGateway)
class PaymentGatewayAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name")


@admin.register(m.PaymentMethod)
class PaymentMethodAdmin(admin.ModelAdmin):
    list_display = ("tenant", "gateway", "brand", "last4", "exp_month", "exp_year", "is_default")
    list_filter = ("brand", "gateway", "is_default")
    search_fields = ("tenant__slug", "last4")
    readonly_fields = ("tenant", "gateway", "reference", "brand", "last4", "exp_month", "exp_year", "created_at")


class OrderItemInline(admin.TabularInline):
    model = m.OrderItem
    extra = 0
    can_delete = False
    readonly_fields = ("sku", "description", "quantity", "unit_price", "subtotal", "discount_amount", "tax_amount",
                       "total", "license_id")
    exclude = ("product",)


class PaymentAttemptInline(admin.TabularInline):
    model = m.PaymentAttempt
    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "gateway", "idempotency_key", "amount", "status", "transaction_id",
                       "decline_code", "message", "refund_id")


class InvoiceInline(admin.TabularInline):
    model = m.Invoice
    fk_name = "order"
    extra = 0
    can_delete = False
    fields = ("number", "kind", "issued_at", "total")
    readonly_fields = fields


@admin.register(m.Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("order_number", "tenant", "kind", "status", "subtotal", "discount_amount", "tax_amount", "total",
                    "refunded_amount", "coupon", "created_at")
    list_filter = ("status", "kind", "tax_inclusive", "billing_country")
    search_fields = ("order_number", "tenant__slug", "tenant__name", "gateway_transaction_id")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in m.Order._meta.fields]
    inlines = (OrderItemInline, PaymentAttemptInline, InvoiceInline)
    actions = ("refund_orders", "retry_payment")

    def has_add_permission(self, request):
        return False  # orders come from checkouts and renewals

    @admin.action(description="Refund in full (issues a credit note)")
    def refund_orders(self, request, queryset):
        for order in queryset:
            try:
                note = order_refund(order=order, actor=actor_from_request(request), reason="Refunded by staff")
            except ApplicationError as exc:
                self.message_user(request, f"{order.order_number}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{order.order_number}: credit note {note.number}.", messages.SUCCESS)

    @admin.action(description="Retry payment with the default saved card")
    def retry_payment(self, request, queryset):
        for order in queryset:
            try:
                result = order_payment_retry(order=order, actor=actor_from_request(request))
            except PaymentDeclined as exc:
                self.message_user(request, f"{order.order_number}: declined ({exc.decline_code}).", messages.WARNING)
            except ApplicationError as exc:
                self.message_user(request, f"{order.order_number}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{order.order_number}: paid, invoice "
                                           f"{result.invoice.number if result.invoice else '-'}.", messages.SUCCESS)


@admin.register(m.Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ("number", "kind", "tenant", "order", "issued_at", "subtotal", "discount_amount", "tax_amount",
                    "total")
    list_filter = ("kind", "series")
    search_fields = ("number", "order__order_number", "tenant__slug")
    date_hierarchy = "issued_at"
    readonly_fields = [f.name for f in m.Invoice._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # fiscal documents are cancelled by credit notes, never deleted


@admin.register(m.DocumentCounter)
class DocumentCounterAdmin(admin.ModelAdmin):
    list_display = ("series", "last_number")
    search_fields = ("series",)
    readonly_fields = ("series", "last_number")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(m.GatewayEvent)
class GatewayEventAdmin(admin.ModelAdmin):
    list_display = ("received_at", "gateway", "event_id", "kind", "transaction_id", "result")
    list_filter = ("gateway", "kind", "result")
    search_fields = ("event_id", "transaction_id")
    readonly_fields = ("received_at", "gateway", "event_id", "kind", "transaction_id", "result")


@admin.register(m.Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("tenant", "product", "interval", "price", "mrr_display", "status", "dunning_state",
                    "current_period_end", "next_retry_at", "failed_attempts")
    list_filter = ("status", "dunning_state", "interval")
    search_fields = ("tenant__slug", "tenant__name", "product__sku")
    readonly_fields = ("mrr_display", "license_id", "failed_attempts", "dunning_started_at", "next_retry_at",
                       "credit_balance", "created_at", "updated_at")

    @admin.display(description="MRR")
    def mrr_display(self, obj):
        return obj.mrr


@admin.register(m.MrrMovement)
class MrrMovementAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "tenant", "subscription", "kind", "amount")
    list_filter = ("kind",)
    search_fields = ("tenant__slug",)
    date_hierarchy = "occurred_at"
    readonly_fields = ("occurred_at", "tenant", "subscription", "kind", "amount")


def revenue_view(request):
    """Staff page: MRR, ARR, movements, ARPA, coupon conversion, monthly series and chart."""
    summary = revenue_summary()
    context = {**admin.site.each_context(request), "title": "Revenue", "summary": summary,
               "chart": mark_safe(mrr_chart_svg(summary["series"]))}  # built from escaped labels and numbers
    return TemplateResponse(request, "billing/revenue.html", context)
