"""Input serializers validate shape; services decide; output serializers render."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from billing.models import Invoice, Order, OrderItem, PaymentMethod, Product


class BillingProductOutputSerializer(serializers.ModelSerializer):
    is_subscription = serializers.BooleanField(read_only=True)
    category = serializers.CharField(source="category.slug", default=None, read_only=True)
    rating_average = serializers.DecimalField(max_digits=3, decimal_places=2, read_only=True, allow_null=True)
    rating_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Product
        fields = ["sku", "name", "description", "category", "interval", "is_subscription", "price",
                  "original_price", "currency", "plan_code", "is_featured", "is_popular", "features",
                  "rating_average", "rating_count"]


class BillingCheckoutItemInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=100, default=1)


class BillingPaymentInputSerializer(serializers.Serializer):
    gateway = serializers.CharField(max_length=32, default="sandbox")
    token = serializers.CharField(max_length=255)
    save = serializers.BooleanField(default=False, help_text="Keep the card (brand, last 4, expiry) for renewals.")


class BillingAddressInputSerializer(serializers.Serializer):
    country = serializers.RegexField(r"^[A-Za-z]{2}$")
    state = serializers.CharField(max_length=10, required=False, allow_blank=True, default="")


class BillingCheckoutInputSerializer(serializers.Serializer):
    items = BillingCheckoutItemInputSerializer(many=True, allow_empty=False)
    coupon = serializers.CharField(max_length=40, required=False, allow_blank=True, allow_null=True)
    payment = BillingPaymentInputSerializer()
    billing_address = BillingAddressInputSerializer(required=False,
                                                    help_text="Defaults to the tenant's billing settings.")


class BillingRetryInputSerializer(serializers.Serializer):
    gateway = serializers.CharField(max_length=32, required=False)
    token = serializers.CharField(max_length=255, required=False, help_text="Empty: the default saved card.")


class BillingRefundInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, min_value=0)
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class BillingPaymentMethodInputSerializer(serializers.Serializer):
    gateway = serializers.CharField(max_length=32, default="sandbox")
    token = serializers.CharField(max_length=255)


class BillingOrderItemOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderItem
        fields = ["sku", "description", "quantity", "unit_price", "subtotal", "discount_amount", "tax_amount",
                  "total"]


def invoice_pdf_url(invoice: Invoice) -> str:
    return reverse("billing-invoice-pdf", kwargs={"number": invoice.number})


class BillingInvoiceOutputSerializer(serializers.ModelSerializer):
    order_number = serializers.CharField(source="order.order_number", read_only=True)
    credits = serializers.CharField(source="credits.number", default=None, read_only=True)
    pdf = serializers.SerializerMethodField()

    class Meta:
        model = Invoice
        fields = ["number", "kind", "order_number", "credits", "issued_at", "currency", "subtotal",
                  "discount_amount", "tax_amount", "total", "reason", "pdf"]

    def get_pdf(self, invoice) -> str:
        return invoice_pdf_url(invoice)


class BillingOrderOutputSerializer(serializers.ModelSerializer):
    items = BillingOrderItemOutputSerializer(many=True, read_only=True)
    coupon = serializers.CharField(source="coupon.code", default=None, read_only=True)
    invoice = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = ["order_number", "kind", "status", "currency", "subtotal", "discount_amount", "tax_amount", "total",
                  "refunded_amount", "coupon", "tax_percent", "tax_inclusive", "billing_country", "billing_state",
                  "created_at", "paid_at", "failure_reason", "items", "invoice"]

    def get_invoice(self, order) -> dict | None:
        invoice = next((i for i in order.invoices.all() if i.kind == Invoice.Kind.INVOICE), None)
        if invoice is None:
            return None
        return {"number": invoice.number, "total": str(invoice.total), "pdf": invoice_pdf_url(invoice)}


class BillingIssuedLicenseSerializer(serializers.Serializer):
    plan = serializers.CharField()
    key = serializers.CharField(help_text="Shown once; store it now.")
    expires_at = serializers.DateTimeField(allow_null=True)


class BillingCheckoutOutputSerializer(BillingOrderOutputSerializer):
    licenses = serializers.SerializerMethodField()

    class Meta(BillingOrderOutputSerializer.Meta):
        fields = BillingOrderOutputSerializer.Meta.fields + ["licenses"]

    def get_licenses(self, order) -> list[dict]:
        return BillingIssuedLicenseSerializer(self.context.get("licenses", []), many=True).data


class BillingPaymentMethodOutputSerializer(serializers.ModelSerializer):
    gateway = serializers.CharField(source="gateway.code", read_only=True)

    class Meta:
        model = PaymentMethod
        fields = ["id", "gateway", "brand", "last4", "exp_month", "exp_year", "is_default", "created_at"]
