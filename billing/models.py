"""Catalog, orders, invoices, subscriptions and revenue (public schema).

Money is ``Decimal`` with two places everywhere; ``billing.money`` does all rounding. A tenant is
the buyer: orders, invoices, payment methods and subscriptions carry its foreign key. Saved
payment methods keep the gateway's reusable reference plus brand, last 4 and expiry: never a
card number. Invoice and credit-note numbers come from ``DocumentCounter`` rows locked with
SELECT ... FOR UPDATE inside the transaction that writes the document, so they have no gaps.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.money import q2
from cdp.models import TimeStampedModel
from licensing.models import Plan
from tenants.models import Tenant

ZERO = Decimal("0.00")
money = dict(max_digits=12, decimal_places=2)
positive = [MinValueValidator(Decimal("0.00"))]


class Category(TimeStampedModel):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Product(TimeStampedModel):
    """Something the platform sells: once (perpetual) or as a monthly/annual subscription."""

    class Interval(models.TextChoices):
        ONE_TIME = "one_time", _("One-time")
        MONTH = "month", _("Monthly")
        YEAR = "year", _("Annual")

    sku = models.CharField(max_length=64, unique=True,
                           validators=[RegexValidator(r"^[A-Z0-9][A-Z0-9-]{1,62}$", "Upper-case letters, digits, -.")])
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products")
    interval = models.CharField(max_length=16, choices=Interval.choices, default=Interval.ONE_TIME)
    price = models.DecimalField(**money, validators=positive)
    original_price = models.DecimalField(**money, null=True, blank=True, validators=positive,
                                         help_text="The 'before' price shown struck through; empty when none.")
    currency = models.CharField(max_length=3, default="USD")
    plan_code = models.CharField(max_length=32, blank=True,
                                 help_text="A licensing plan code: a paid order issues or extends that license.")
    is_active = models.BooleanField(default=True)
    is_featured = models.BooleanField(default=False)
    is_popular = models.BooleanField(default=False)
    features = models.JSONField(default=list, blank=True)
    download_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gte=0), name="billing_product_price_gte_0"),
            models.CheckConstraint(
                condition=models.Q(original_price__isnull=True) | models.Q(original_price__gte=models.F("price")),
                name="billing_product_original_gte_price"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"

    @property
    def is_subscription(self) -> bool:
        return self.interval != self.Interval.ONE_TIME

    @property
    def monthly_price(self) -> Decimal:
        """The MRR one subscription to this product contributes (annual / 12), before tax."""
        if self.interval == self.Interval.YEAR:
            return q2(self.price / 12)
        return self.price if self.interval == self.Interval.MONTH else ZERO

    def clean(self):
        if self.original_price is not None and self.original_price < self.price:
            raise ValidationError({"original_price": "The original price is at least the price."})
        if self.plan_code:
            if self.plan_code not in Plan.Code.values:
                raise ValidationError({"plan_code": f"Unknown plan; one of {', '.join(Plan.Code.values)}."})


class Review(TimeStampedModel):
    """A tenant's rating of a product; one per tenant and product. Averages are computed, not stored."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reviews")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    author = models.CharField(max_length=255, blank=True)
    rating = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    title = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    is_approved = models.BooleanField(default=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "tenant"], name="billing_review_once_per_tenant"),
            models.CheckConstraint(condition=models.Q(rating__gte=1, rating__lte=5), name="billing_review_rating_1_5"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} ★{self.rating}"


class Coupon(TimeStampedModel):
    class Kind(models.TextChoices):
        PERCENT = "percent", _("Percent off")
        FIXED = "fixed", _("Fixed amount off")

    code = models.CharField(max_length=40, unique=True, help_text="Stored upper-case; matched case-insensitively.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.DecimalField(**money, validators=positive, help_text="Percent (0-100) or an amount.")
    currency = models.CharField(max_length=3, default="USD")
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True, help_text="Empty means unlimited.")
    times_redeemed = models.PositiveIntegerField(default=0)
    once_per_tenant = models.BooleanField(default=True)
    minimum_amount = models.DecimalField(**money, default=ZERO, validators=positive)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(kind="percent") | models.Q(value__lte=100),
                                   name="billing_coupon_percent_lte_100"),
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self):
        self.code = (self.code or "").strip().upper()
        if self.kind == self.Kind.PERCENT and self.value > 100:
            raise ValidationError({"value": "A percentage is at most 100."})
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValidationError({"valid_until": "The end of validity comes after its start."})


class CouponRedemption(models.Model):
    """A coupon used by a paid order. The unique constraint enforces once per tenant."""

    created_at = models.DateTimeField(auto_now_add=True)
    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    order = models.OneToOneField("billing.Order", on_delete=models.CASCADE, related_name="redemption")
    once_per_tenant = models.BooleanField(default=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["coupon", "tenant"], condition=models.Q(once_per_tenant=True),
                                    name="billing_coupon_once_per_tenant"),
        ]


class TaxRate(TimeStampedModel):
    """A rate for a country (and optionally a state). Inclusive: prices already contain the tax."""

    name = models.CharField(max_length=100)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, upper-case.")
    state = models.CharField(max_length=10, blank=True, help_text="Region code; empty for the whole country.")
    rate = models.DecimalField(max_digits=6, decimal_places=4,
                               validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
                               help_text="Percent, e.g. 21.0000.")
    inclusive = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["country", "state"]
        constraints = [
            models.UniqueConstraint(fields=["country", "state"], condition=models.Q(is_active=True),
                                    name="billing_taxrate_one_active_per_region"),
        ]

    def __str__(self) -> str:
        region = f"{self.country}-{self.state}" if self.state else self.country
        return f"{self.name} {region} {self.rate}%{' incl.' if self.inclusive else ''}"


class PaymentGateway(TimeStampedModel):
    """Which adapters may take payments. Secrets never live here: they come from the environment."""

    class Kind(models.TextChoices):
        SANDBOX = "sandbox", _("Built-in sandbox")
        STRIPE = "stripe", _("Stripe-compatible HTTP")

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    is_active = models.BooleanField(default=True)
    config = models.JSONField(default=dict, blank=True, help_text="Non-secret options (e.g. base_url).")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class PaymentMethod(TimeStampedModel):
    """A tenant's saved card: the gateway's reusable reference and what may be shown. No PAN, no CVC."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="payment_methods")
    gateway = models.ForeignKey(PaymentGateway, on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=255, help_text="Gateway token or payment-method id.")
    brand = models.CharField(max_length=20, blank=True)
    last4 = models.CharField(max_length=4, validators=[RegexValidator(r"^\d{4}$")])
    exp_month = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(12)])
    exp_year = models.PositiveSmallIntegerField()
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_default", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant"], condition=models.Q(is_default=True),
                                    name="billing_one_default_payment_method"),
        ]

    def __str__(self) -> str:
        return f"{self.brand or 'card'} ···· {self.last4} ({self.exp_month:02d}/{self.exp_year})"


class DocumentCounter(models.Model):
    """One row per number series (``INV``, ``CN``, ``ORD-20260201``). Locked FOR UPDATE while a
    document takes the next number: the increment commits or rolls back with the document."""

    series = models.CharField(max_length=32, primary_key=True)
    last_number = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.series}: {self.last_number}"


class Order(TimeStampedModel):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending payment")
        PAID = "paid", _("Paid")
        PAYMENT_FAILED = "payment_failed", _("Payment failed")
        REFUNDED = "refunded", _("Refunded")
        PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
        CANCELLED = "cancelled", _("Cancelled")

    class Kind(models.TextChoices):
        CHECKOUT = "checkout", _("Checkout")
        RENEWAL = "renewal", _("Subscription renewal")
        PRORATION = "proration", _("Plan change")

    order_number = models.CharField(max_length=32, unique=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="billing_orders")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CHECKOUT)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    currency = models.CharField(max_length=3, default="USD")
    subtotal = models.DecimalField(**money, default=ZERO)
    discount_amount = models.DecimalField(**money, default=ZERO)
    tax_amount = models.DecimalField(**money, default=ZERO)
    total = models.DecimalField(**money, default=ZERO)
    refunded_amount = models.DecimalField(**money, default=ZERO)
    coupon = models.ForeignKey(Coupon, null=True, blank=True, on_delete=models.PROTECT, related_name="orders")
    tax_rate = models.ForeignKey(TaxRate, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    tax_inclusive = models.BooleanField(default=False)
    tax_percent = models.DecimalField(max_digits=6, decimal_places=4, default=Decimal("0"))
    billing_country = models.CharField(max_length=2, blank=True)
    billing_state = models.CharField(max_length=10, blank=True)
    gateway = models.ForeignKey(PaymentGateway, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    gateway_transaction_id = models.CharField(max_length=255, blank=True)
    subscription = models.ForeignKey("billing.Subscription", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="orders")
    paid_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=255, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True,
                                      help_text="Why a charged order was refunded instead of fulfilled, or why it failed.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="billing_order_tenant_time")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(total=models.F("subtotal") - models.F("discount_amount") + models.F("tax_amount")),
                name="billing_order_amounts_add_up"),
            models.CheckConstraint(condition=models.Q(refunded_amount__lte=models.F("total")),
                                   name="billing_order_refund_lte_total"),
        ]

    def __str__(self) -> str:
        return self.order_number


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    description = models.CharField(max_length=255)
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(**money)
    subtotal = models.DecimalField(**money)
    discount_amount = models.DecimalField(**money, default=ZERO)
    tax_amount = models.DecimalField(**money, default=ZERO)
    total = models.DecimalField(**money)
    license_id = models.BigIntegerField(null=True, blank=True, help_text="licensing.License issued or extended.")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"


class PaymentAttempt(TimeStampedModel):
    """One charge at a gateway, recorded as an intent (``pending``, committed) BEFORE the gateway is
    called. The idempotency key is unique and is the gateway's own idempotency key: a retried call
    never charges twice, and the reconciler can ask the gateway about a charge whose answer was lost.

    ``pending`` without a transaction id: the outcome is unknown (in flight, or lost in a crash or a
    timeout). ``succeeded`` on an order that is not paid: charged, not yet fulfilled (the reconciler
    finishes it or refunds it). ``refund_pending``: charged, could not be fulfilled, refund not yet
    confirmed by the gateway. ``refunded``: that refund went through."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        DECLINED = "declined", _("Declined")
        ERROR = "error", _("Gateway error")
        REFUND_PENDING = "refund_pending", _("Charged, refund pending")
        REFUNDED = "refunded", _("Charged, then refunded")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="attempts")
    gateway = models.ForeignKey(PaymentGateway, on_delete=models.PROTECT, related_name="+")
    idempotency_key = models.CharField(max_length=255, unique=True)
    amount = models.DecimalField(**money)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    transaction_id = models.CharField(max_length=255, blank=True, db_index=True)
    decline_code = models.CharField(max_length=64, blank=True)
    message = models.CharField(max_length=255, blank=True)
    refund_id = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="billing_attempt_status_time")]


class GatewayEvent(models.Model):
    """A payment callback we have applied; the unique id makes a redelivered callback a no-op."""

    received_at = models.DateTimeField(auto_now_add=True)
    gateway = models.ForeignKey(PaymentGateway, on_delete=models.PROTECT, related_name="+")
    event_id = models.CharField(max_length=255)
    kind = models.CharField(max_length=64)
    transaction_id = models.CharField(max_length=255, blank=True)
    result = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["gateway", "event_id"], name="billing_gateway_event_once")]


class Invoice(TimeStampedModel):
    """A fiscal document for a paid order; ``number`` is gapless within its series."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.INVOICE)
    series = models.CharField(max_length=16)
    sequence = models.PositiveBigIntegerField()
    number = models.CharField(max_length=32, unique=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="billing_invoices")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="invoices")
    credits = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes",
                                help_text="For a credit note: the invoice it (partly) cancels.")
    issued_at = models.DateTimeField()
    currency = models.CharField(max_length=3, default="USD")
    subtotal = models.DecimalField(**money)
    discount_amount = models.DecimalField(**money, default=ZERO)
    tax_amount = models.DecimalField(**money, default=ZERO)
    total = models.DecimalField(**money)
    reason = models.CharField(max_length=255, blank=True)
    buyer = models.JSONField(default=dict, blank=True, help_text="Name and address as invoiced (a snapshot).")
    lines = models.JSONField(default=list, blank=True, help_text="Lines as invoiced (a snapshot).")

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["series", "sequence"], name="billing_invoice_series_sequence"),
            models.CheckConstraint(
                condition=models.Q(total=models.F("subtotal") - models.F("discount_amount") + models.F("tax_amount")),
                name="billing_invoice_amounts_add_up"),
        ]

    def __str__(self) -> str:
        return self.number


class UsageCharge(models.Model):
    """Usage of one source (``billing.registry``: the AI mesh's requests...) billed for one tenant
    and period on a renewal order. Unique per tenant, source and period start: the same usage is
    never billed twice, whatever happens to the renewal."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="billing_usage_charges")
    source = models.CharField(max_length=64)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    order = models.ForeignKey("billing.Order", on_delete=models.PROTECT, related_name="usage_charges")
    lines = models.JSONField(default=list, blank=True, help_text="The lines billed (a snapshot).")
    amount = models.DecimalField(**money, help_text="Before discount and tax.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_start", "source"]
        constraints = [models.UniqueConstraint(fields=["tenant", "source", "period_start"],
                                               name="billing_usage_once_per_period")]

    def __str__(self) -> str:
        return f"{self.source} {self.period_start:%Y-%m-%d} ({self.amount})"


class Subscription(TimeStampedModel):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Past due")
        CANCELLED = "cancelled", _("Cancelled")

    class Dunning(models.TextChoices):
        NONE = "none", _("None")
        RETRYING = "retrying", _("Retrying payment")
        SUSPENDED = "suspended", _("License suspended")
        EXHAUSTED = "exhausted", _("Gave up (cancelled)")

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="billing_subscriptions")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="subscriptions")
    interval = models.CharField(max_length=16, choices=[c for c in Product.Interval.choices if c[0] != "one_time"])
    price = models.DecimalField(**money, help_text="Price per period, before tax (locked at purchase).")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField(db_index=True)
    cancel_at_period_end = models.BooleanField(default=False)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    license_id = models.BigIntegerField(null=True, blank=True, help_text="licensing.License this subscription pays.")
    payment_method = models.ForeignKey(PaymentMethod, null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="subscriptions")
    credit_balance = models.DecimalField(**money, default=ZERO, help_text="Proration credit for the next renewal.")
    dunning_state = models.CharField(max_length=16, choices=Dunning.choices, default=Dunning.NONE)
    dunning_started_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    next_retry_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant"], condition=~models.Q(status="cancelled"),
                                    name="billing_one_live_subscription_per_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.product.sku if self.product_id else ''} ({self.status})"

    @property
    def mrr(self) -> Decimal:
        return q2(self.price / 12) if self.interval == Product.Interval.YEAR else self.price


class MrrMovement(models.Model):
    """Every change to recurring revenue, so MRR for any past month is a sum, not a guess."""

    class Kind(models.TextChoices):
        NEW = "new", _("New")
        EXPANSION = "expansion", _("Expansion")
        CONTRACTION = "contraction", _("Contraction")
        CHURN = "churn", _("Churn")
        REACTIVATION = "reactivation", _("Reactivation")

    occurred_at = models.DateTimeField(db_index=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="movements")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.DecimalField(**money, help_text="Signed change in monthly recurring revenue.")

    class Meta:
        verbose_name, verbose_name_plural = "MRR movement", "MRR movements"
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d} {self.kind} {self.amount}"


class IdempotencyRecord(models.Model):
    """A client's ``Idempotency-Key`` for one operation, scoped to a tenant and a principal (a user
    or an API key). The first request with a key runs; later ones get its answer again. Only a
    SHA-256 of the key is stored, and the answer is encrypted with a key derived from the client's
    key (answers carry license keys, which are shown once and otherwise stored only as hashes).
    Kept at least ``BILLING_IDEMPOTENCY_TTL_HOURS``, then pruned."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")

    created_at = models.DateTimeField(auto_now_add=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    principal = models.CharField(max_length=64, help_text="user:<id> or api_key:<id>.")
    operation = models.CharField(max_length=32)
    key_hash = models.CharField(max_length=64)
    request_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.TextField(blank=True, help_text="The answer, encrypted (Fernet).")
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "principal", "operation", "key_hash"],
                                    name="billing_idempotency_key_once"),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.key_hash[:12]} ({self.status})"


class SandboxCharge(models.Model):
    """What the built-in sandbox gateway has charged, by the caller's idempotency key: the sandbox
    honours idempotency keys and can be asked about a charge later, as a real gateway can."""

    created_at = models.DateTimeField(auto_now_add=True)
    idempotency_key = models.CharField(max_length=255, unique=True)
    transaction_id = models.CharField(max_length=64, unique=True)
    token = models.CharField(max_length=255)
    amount = models.DecimalField(**money)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16)
    amount_refunded = models.DecimalField(**money, default=ZERO)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.transaction_id} {self.amount} {self.status}"


class SandboxRefund(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    idempotency_key = models.CharField(max_length=255, unique=True)
    refund_id = models.CharField(max_length=64, unique=True)
    charge = models.ForeignKey(SandboxCharge, on_delete=models.CASCADE, related_name="refunds")
    amount = models.DecimalField(**money)

    class Meta:
        ordering = ["-created_at", "-id"]
