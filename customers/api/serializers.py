from rest_framework import serializers

from cdp.api.serializers import FieldsOnceMixin
from customers.models import (
    Address,
    CreditAccount,
    Customer,
    CustomerChangeLog,
    CustomerIdentity,
    Order,
    OrderItem,
)
from customers.masking import (
    MaskingChangeSerializerMixin,
    MaskingSerializerMixin,
    context_visibility,
    mask_address_json,
)
from customers.services.ingest import MAX_BATCH


class AddressRecordDocSerializer(serializers.Serializer):
    """The customer's address in a canonical record (documentation only)."""

    type = serializers.ChoiceField(choices=Address.Type.choices, required=False, help_text="Default shipping.")
    recipient_name = serializers.CharField(required=False, max_length=255)
    line1 = serializers.CharField(max_length=255, help_text="Street. Required when an address is sent.")
    number = serializers.CharField(required=False, max_length=20)
    line2 = serializers.CharField(required=False, max_length=255, help_text="Floor, apartment.")
    neighborhood = serializers.CharField(required=False, max_length=100)
    city = serializers.CharField(required=False, max_length=150)
    state = serializers.CharField(required=False, max_length=150)
    postal_code = serializers.CharField(required=False, max_length=20)
    country = serializers.CharField(required=False, help_text="ISO 3166 code or name; default the customer's.")
    phone = serializers.CharField(required=False, max_length=255)


class CustomerRecordDocSerializer(serializers.Serializer):
    """Who bought (documentation only). At least one of email, external_id or document_number:
    they find the person among those already known (identity, then e-mail, then document). An
    empty value never replaces a stored one."""

    external_id = serializers.CharField(required=False, max_length=255, help_text="The customer's id in the source.")
    email = serializers.EmailField(required=False)
    phone = serializers.CharField(required=False, help_text="Any format; stored in E.164 with the country's code.")
    document_type = serializers.CharField(required=False, max_length=20, help_text="DNI, CUIT, CPF, RUT…")
    document_number = serializers.CharField(required=False, max_length=50, help_text="With or without punctuation.")
    first_name = serializers.CharField(required=False, max_length=150)
    last_name = serializers.CharField(required=False, max_length=150)
    birth_date = serializers.DateField(required=False)
    gender = serializers.CharField(required=False, help_text="female, male, other (or F, M, O).")
    city = serializers.CharField(required=False, max_length=150)
    state = serializers.CharField(required=False, max_length=150)
    country = serializers.CharField(required=False, help_text="ISO 3166 code or name.")
    address = AddressRecordDocSerializer(required=False)


class OrderItemRecordDocSerializer(serializers.Serializer):
    sku = serializers.CharField(required=False, max_length=100, help_text="A sku or a name is required.")
    name = serializers.CharField(required=False, max_length=255)
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, required=False, help_text="Default 1.")
    unit_price = serializers.DecimalField(max_digits=15, decimal_places=2, required=False, help_text="Default 0.")


class OrderRecordDocSerializer(serializers.Serializer):
    """The canonical order record, as documentation only: ``order_ingest`` validates each record
    itself (customers.services.validation) so that every record gets its own field errors."""

    source = serializers.CharField(required=False, help_text="Lowercase source name; default api.")
    external_order_id = serializers.CharField(max_length=255, help_text="The order's id in its source.")
    partner = serializers.SlugField(required=False, max_length=64,
                                    help_text="The coalition partner (its slug) the purchase was made at: the partner's "
                                              "earning rules apply. Order ids are unique per source and partner. A "
                                              "partner-bound API key records its partner's orders only.")
    order_number = serializers.CharField(required=False, max_length=64,
                                         help_text="The number people use (VTEX sequence, MercadoLibre order id).")
    order_date = serializers.DateTimeField(help_text="ISO 8601; without an offset, the tenant's time zone.")
    status = serializers.ChoiceField(choices=Order.Status.choices, required=False,
                                     help_text="Default completed. Which statuses count as a sale is the tenant's "
                                               "rule (GET /api/v1/sales/counted-statuses/).")
    payment_status = serializers.ChoiceField(choices=Order.PaymentStatus.choices, required=False,
                                             help_text="The payment's state, apart from the order status.")
    currency = serializers.CharField(required=False, help_text="ISO 4217; default the tenant's.")
    total_amount = serializers.DecimalField(max_digits=15, decimal_places=2, min_value=0)
    subtotal = serializers.DecimalField(max_digits=15, decimal_places=2, min_value=0, required=False)
    tax_amount = serializers.DecimalField(max_digits=15, decimal_places=2, min_value=0, required=False)
    shipping_cost = serializers.DecimalField(max_digits=15, decimal_places=2, min_value=0, required=False)
    discount_amount = serializers.DecimalField(max_digits=15, decimal_places=2, min_value=0, required=False)
    payment_method = serializers.CharField(required=False, max_length=100)
    shipping_method = serializers.CharField(required=False, max_length=100,
                                            help_text="Carrier or delivery option chosen.")
    utm_source = serializers.CharField(required=False, max_length=150,
                                       help_text="google, facebook…: attributes the order to ad spend.")
    utm_medium = serializers.CharField(required=False, max_length=150)
    utm_campaign = serializers.CharField(required=False, max_length=150,
                                         help_text="The ad campaign's id or name.")
    customer = CustomerRecordDocSerializer()
    items = OrderItemRecordDocSerializer(many=True, required=False)


class OrderIngestDocSerializer(serializers.Serializer):
    """Records are validated one by one by the ingest service, so each gets its own errors."""

    orders = OrderRecordDocSerializer(many=True, help_text=f"At most {MAX_BATCH} records.")


class IngestRecordResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "updated", "unchanged", "rejected"])
    order_id = serializers.IntegerField(allow_null=True)
    customer_id = serializers.IntegerField(allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class OrderIngestOutputSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = IngestRecordResultSerializer(many=True)


class LeadRecordDocSerializer(CustomerRecordDocSerializer):
    """A lead or a subscriber (documentation only): a customer without an order. The same
    identifiers find the person among those already known; unknown fields are refused."""

    kind = serializers.ChoiceField(choices=["lead", "subscriber"], required=False,
                                   help_text="How the person came (default lead); they are tagged with it.")
    source = serializers.CharField(required=False, help_text="Lowercase source name (newsletter, landing…); "
                                                             "default api. Its priority decides conflicts.")
    attributes = serializers.DictField(required=False,
                                       help_text="Custom attribute values by key (GET /api/v1/attributes/).")


class LeadBulkDocSerializer(serializers.Serializer):
    customers = LeadRecordDocSerializer(many=True, help_text=f"At most {MAX_BATCH} records.")


class LeadResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "updated", "unchanged", "rejected"])
    customer_id = serializers.IntegerField(allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class LeadOutputSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="created, updated or unchanged.")
    customer_id = serializers.IntegerField()
    customer = serializers.DictField(help_text="The customer as the list shows it (masked per the reader).")


class LeadBulkOutputSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = LeadResultSerializer(many=True)


class CustomerOutputSerializer(MaskingSerializerMixin, FieldsOnceMixin, serializers.ModelSerializer):
    """E-mail, phone and document masked, sensitive fields hidden, per the reader (customers.masking)."""

    class Meta:
        model = Customer
        fields = ["id", "email", "phone", "document_type", "document_number", "first_name", "last_name",
                  "birth_date", "gender", "city", "state", "country", "customer_type", "status", "marketing_consent",
                  "tags", "source", "first_purchase_at", "last_purchase_at", "total_orders", "total_spent",
                  "avg_order_value", "is_pseudonymized", "merged_into", "created_at", "updated_at"]


class CustomerDetailOutputSerializer(CustomerOutputSerializer):
    class Meta(CustomerOutputSerializer.Meta):
        fields = [*CustomerOutputSerializer.Meta.fields, "metadata", "notes", "field_sources", "pseudonymized_at"]


class CustomerUpdateInputSerializer(serializers.Serializer):
    """Every field optional (PATCH); the service normalizes and validates."""

    email = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=254)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
    document_type = serializers.CharField(required=False, allow_blank=True, max_length=20)
    document_number = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=50)
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    birth_date = serializers.DateField(required=False, allow_null=True)
    gender = serializers.CharField(required=False, allow_blank=True, max_length=20)
    city = serializers.CharField(required=False, allow_blank=True, max_length=150)
    state = serializers.CharField(required=False, allow_blank=True, max_length=150)
    country = serializers.CharField(required=False, allow_blank=True, max_length=60)
    customer_type = serializers.ChoiceField(required=False, choices=Customer.Type.choices)
    status = serializers.ChoiceField(required=False, choices=[c for c in Customer.Status.choices
                                                              if c[0] != Customer.Status.MERGED])
    marketing_consent = serializers.BooleanField(required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False, max_length=50)
    metadata = serializers.DictField(required=False)
    notes = serializers.CharField(required=False, allow_blank=True)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200)


class IdentityOutputSerializer(FieldsOnceMixin, serializers.ModelSerializer):
    class Meta:
        model = CustomerIdentity
        fields = ["source", "external_id", "created_at", "last_seen_at"]


class AddressOutputSerializer(MaskingSerializerMixin, FieldsOnceMixin, serializers.ModelSerializer):
    masked_fields = ("phone",)

    class Meta:
        model = Address
        fields = ["id", "address_type", "recipient_name", "line1", "line2", "number", "neighborhood", "city", "state",
                  "postal_code", "country", "phone", "is_default", "is_active", "source", "created_at", "updated_at"]


class AddressInputSerializer(serializers.Serializer):
    address_type = serializers.ChoiceField(choices=Address.Type.choices, required=False)
    recipient_name = serializers.CharField(required=False, allow_blank=True, max_length=255)
    line1 = serializers.CharField(required=False, max_length=255)
    line2 = serializers.CharField(required=False, allow_blank=True, max_length=255)
    number = serializers.CharField(required=False, allow_blank=True, max_length=20)
    neighborhood = serializers.CharField(required=False, allow_blank=True, max_length=100)
    city = serializers.CharField(required=False, allow_blank=True, max_length=150)
    state = serializers.CharField(required=False, allow_blank=True, max_length=150)
    postal_code = serializers.CharField(required=False, allow_blank=True, max_length=20)
    country = serializers.CharField(required=False, allow_blank=True, max_length=60)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=20)
    is_default = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)


class AddressCreateInputSerializer(AddressInputSerializer):
    line1 = serializers.CharField(max_length=255)


class ChangeLogOutputSerializer(MaskingChangeSerializerMixin, FieldsOnceMixin, serializers.ModelSerializer):
    class Meta:
        model = CustomerChangeLog
        fields = ["id", "field", "old_value", "new_value", "source", "changed_by", "reason", "created_at"]


class OrderItemOutputSerializer(FieldsOnceMixin, serializers.ModelSerializer):
    class Meta:
        model = OrderItem
        fields = ["id", "sku", "name", "quantity", "unit_price", "total_price", "product"]


class OrderOutputSerializer(FieldsOnceMixin, serializers.ModelSerializer):
    class Meta:
        model = Order
        fields = ["id", "customer", "source", "external_order_id", "partner", "order_number", "order_date", "status",
                  "payment_status", "currency", "subtotal", "tax_amount", "shipping_cost", "discount_amount",
                  "total_amount", "payment_method", "shipping_method", "utm_source", "utm_medium", "utm_campaign",
                  "created_at", "updated_at"]


class OrderDetailOutputSerializer(OrderOutputSerializer):
    items = OrderItemOutputSerializer(many=True, read_only=True)

    class Meta(OrderOutputSerializer.Meta):
        fields = [*OrderOutputSerializer.Meta.fields, "shipping_address", "raw", "items"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not context_visibility(self.context).unmask:
            # The source payload and the shipping address quote the buyer's e-mail, phone and
            # document under any key the source chose: withheld whole rather than guessed at.
            data["raw"] = None
            data["shipping_address"] = mask_address_json(data.get("shipping_address"))
        return data


class LoyaltyOutputSerializer(serializers.Serializer):
    """The customer's loyalty account as the 360 has always shown it (loyalty provides it through a
    top-level 360 section: ``customers.registry.register_customer_360_section``)."""

    points_balance = serializers.IntegerField()
    lifetime_points = serializers.IntegerField()
    points_redeemed = serializers.IntegerField()
    points_expired = serializers.IntegerField()
    tier = serializers.CharField(help_text="bronze, silver, gold or platinum.")
    tier_since = serializers.DateField(allow_null=True)


class CreditOutputSerializer(FieldsOnceMixin, serializers.ModelSerializer):
    credit_available = serializers.DecimalField(max_digits=15, decimal_places=2, read_only=True)

    class Meta:
        model = CreditAccount
        fields = ["status", "credit_limit", "credit_used", "credit_available", "currency", "payment_term_days",
                  "approved_at", "suspended_at"]


class SourceStatsSerializer(serializers.Serializer):
    source = serializers.CharField()
    orders = serializers.IntegerField()
    spent = serializers.DecimalField(max_digits=15, decimal_places=2, allow_null=True)


class OrderStatsSerializer(serializers.Serializer):
    orders = serializers.IntegerField()
    counted = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    refunded = serializers.IntegerField()
    refunded_amount = serializers.DecimalField(max_digits=15, decimal_places=2, allow_null=True)
    first_order_at = serializers.DateTimeField(allow_null=True)
    last_order_at = serializers.DateTimeField(allow_null=True)
    by_source = SourceStatsSerializer(many=True)


class Customer360OutputSerializer(serializers.Serializer):
    profile = CustomerDetailOutputSerializer(source="customer")
    identities = IdentityOutputSerializer(many=True)
    addresses = AddressOutputSerializer(many=True)
    order_stats = OrderStatsSerializer()
    recent_orders = OrderOutputSerializer(many=True)
    loyalty = LoyaltyOutputSerializer(allow_null=True, required=False, default=None)
    credit = CreditOutputSerializer(allow_null=True)
    sections = serializers.DictField(help_text="Read models other apps add (e.g. analytics scores).")
