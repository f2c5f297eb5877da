"""Products, orders and their items, as every source reports them through the ingest service."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cdp.models import TimeStampedModel
from customers.models.profile import Customer


class Product(TimeStampedModel):
    sku = models.CharField(max_length=100, unique=True)
    name = models.CharField(max_length=255, blank=True)
    category = models.CharField(max_length=150, blank=True)
    brand = models.CharField(max_length=150, blank=True)
    price = models.DecimalField(max_digits=15, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    is_active = models.BooleanField(default=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["sku"]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}".strip()


class Order(TimeStampedModel):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PAID = "paid", _("Paid")
        INVOICED = "invoiced", _("Invoiced")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")

    class PaymentStatus(models.TextChoices):
        UNKNOWN = "", _("Unknown")
        PENDING = "pending", _("Pending")
        AUTHORIZED = "authorized", _("Authorized")
        PAID = "paid", _("Paid")
        PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
        REFUNDED = "refunded", _("Refunded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    #: Voided orders: never a sale whatever the tenant's counted-sale rule says (the rule may not
    #: include them), and never chargeable to credit. Which orders *are* sales is the tenant's
    #: rule: ``customers.selectors.sales.counted_statuses``.
    VOID_STATUSES = (Status.CANCELLED, Status.REFUNDED)

    # order_customer_date_idx serves lookups by customer; a second index would only slow imports.
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders", db_index=False)
    source = models.CharField(max_length=50)
    external_order_id = models.CharField(max_length=255)
    # The coalition partner the purchase was made at (a loyalty partner's slug; "" when none).
    # customers keeps the slug only: what a partner means (its earning rules, its settlement) is
    # loyalty's, which reads this column. Order ids are unique per source *and partner*: two
    # partners' tills may both number their sales from 1.
    partner = models.CharField(max_length=64, blank=True, default="", db_default="",
                               help_text="The coalition partner (slug) the purchase was made at.")
    order_number = models.CharField(max_length=64, blank=True,
                                    help_text="The number people use (VTEX sequence, MercadoLibre order id).")
    order_date = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.COMPLETED)
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(max_digits=15, decimal_places=2, null=True, blank=True)
    tax_amount = models.DecimalField(max_digits=15, decimal_places=2, null=True, blank=True)
    shipping_cost = models.DecimalField(max_digits=15, decimal_places=2, null=True, blank=True)
    discount_amount = models.DecimalField(max_digits=15, decimal_places=2, null=True, blank=True)
    total_amount = models.DecimalField(max_digits=15, decimal_places=2)
    payment_method = models.CharField(max_length=100, blank=True)
    payment_status = models.CharField(max_length=20, choices=PaymentStatus.choices, blank=True,
                                      help_text="The payment's state, apart from the order's status.")
    shipping_method = models.CharField(max_length=100, blank=True, help_text="Carrier or delivery option chosen.")
    # Where the order came from, as the store's checkout recorded it (ad attribution).
    utm_source = models.CharField(max_length=150, blank=True)
    utm_medium = models.CharField(max_length=150, blank=True)
    utm_campaign = models.CharField(max_length=150, blank=True)
    shipping_address = models.JSONField(null=True, blank=True)
    raw = models.JSONField(null=True, blank=True, help_text="The source payload, kept as received.")

    class Meta:
        ordering = ["-order_date", "-id"]
        constraints = [
            # (source, external id) first: lookups by those two still use this index.
            models.UniqueConstraint(fields=["source", "external_order_id", "partner"],
                                    name="uniq_order_source_external_partner"),
            models.CheckConstraint(condition=Q(total_amount__gte=0), name="order_total_amount_gte_0"),
        ]
        # The source filter walks order_date_idx (a handful of sources each hold a large share);
        # status has six values. Fewer indexes keep the million-order import fast.
        indexes = [
            models.Index(fields=["customer", "-order_date"], name="order_customer_date_idx"),
            models.Index(fields=["-order_date"], name="order_date_idx"),
            # Orders changed recently (the hourly loyalty catch-up).
            models.Index(fields=["updated_at"], name="order_updated_idx"),
            # A partner's purchases by date (settlement, partner reports); most orders have none.
            models.Index(fields=["partner", "order_date"], condition=~Q(partner=""), name="order_partner_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_order_id}"


class OrderItem(models.Model):
    # Indexed by orderitem_order_idx (the foreign key's own index would repeat it).
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items", db_index=False)
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sku = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=255, blank=True)
    quantity = models.DecimalField(max_digits=12, decimal_places=3, default=1)
    unit_price = models.DecimalField(max_digits=15, decimal_places=2, default=0)
    total_price = models.DecimalField(max_digits=15, decimal_places=2, default=0)

    class Meta:
        ordering = ["order_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orderitem_quantity_gt_0"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="orderitem_unit_price_gte_0"),
        ]
        indexes = [
            models.Index(fields=["order"], name="orderitem_order_idx"),
            models.Index(fields=["sku"], name="orderitem_sku_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku or self.name}"
