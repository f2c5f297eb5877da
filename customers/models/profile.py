"""The unified customer profile and what hangs off it: identities, addresses, change log, and
the per-tenant ranking of sources that decides who may overwrite whom."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cdp.models import TimeStampedModel
from customers.models.fields import DocumentHashField, DocumentValidField, SealedChangeValueField, SealedTextField

#: The source name of edits made by people (portal, admin, API PATCH). It outranks every feed.
MANUAL_SOURCE = "manual"
MANUAL_PRIORITY = 1_000_000
#: Priority of a source with no SourcePriority row.
DEFAULT_SOURCE_PRIORITY = 10


class Customer(TimeStampedModel):
    """One person (or company) however many sources know it.

    ``email`` and ``document_number`` are NULL rather than "" when unknown, so that the partial
    unique constraints (one customer per normalized email / per document) ignore the unknowns.
    Order aggregates are denormalized and kept exact by the ingest service.
    """

    class Type(models.TextChoices):
        B2C = "b2c", _("Consumer (B2C)")
        B2B = "b2b", _("Business (B2B)")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        INACTIVE = "inactive", _("Inactive")
        BLOCKED = "blocked", _("Blocked")
        MERGED = "merged", _("Merged into another customer")

    class Gender(models.TextChoices):
        FEMALE = "female", _("Female")
        MALE = "male", _("Male")
        OTHER = "other", _("Other")
        UNKNOWN = "", _("Unknown")

    email = models.CharField(max_length=254, null=True, blank=True, help_text="Lowercased and trimmed.")
    phone = models.CharField(max_length=20, blank=True, help_text="E.164 when it could be normalized.")
    document_type = models.CharField(max_length=20, blank=True, help_text="dni, cpf, cuit, rut, passport…")
    # Sealed at rest (customers/documents.py): the column holds a token, Python sees the compact
    # number; matching and uniqueness use the keyed hash beside it.
    document_number = SealedTextField(null=True, blank=True, help_text="Compact form (digits, letters kept).")
    document_hash = DocumentHashField()
    document_valid = DocumentValidField()
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    gender = models.CharField(max_length=20, choices=Gender.choices, blank=True)
    city = models.CharField(max_length=150, blank=True)
    state = models.CharField(max_length=150, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2.")
    customer_type = models.CharField(max_length=3, choices=Type.choices, default=Type.B2C)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    marketing_consent = models.BooleanField(default=False)
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    notes = models.TextField(blank=True)

    # Provenance: the source that first created the profile and, per field, the source whose
    # value is current (decides conflicts with SourcePriority).
    source = models.CharField(max_length=50, blank=True, help_text="The source that first created it.")
    field_sources = models.JSONField(default=dict, blank=True)

    # Order aggregates over the counted orders (the tenant's counted-sale rule, customers.selectors.sales).
    first_purchase_at = models.DateTimeField(null=True, blank=True)
    last_purchase_at = models.DateTimeField(null=True, blank=True)
    total_orders = models.PositiveIntegerField(default=0)
    total_spent = models.DecimalField(max_digits=15, decimal_places=2, default=0)
    avg_order_value = models.DecimalField(max_digits=15, decimal_places=2, default=0)

    # Folded words for search, written by a database trigger on every path (customers/search.py).
    search_vector = SearchVectorField(null=True, editable=False)
    is_pseudonymized = models.BooleanField(default=False)
    pseudonymized_at = models.DateTimeField(null=True, blank=True)
    # Indexed only where set (merged_customer_idx): nearly every row is NULL.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_customers", db_index=False
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["email"], condition=Q(email__isnull=False), name="uniq_customer_email"),
            # Hash first: a search by document (any type) uses this index too.
            models.UniqueConstraint(
                fields=["document_hash", "document_type"],
                condition=Q(document_hash__isnull=False),
                name="uniq_customer_document_hash",
            ),
            models.CheckConstraint(condition=Q(total_spent__gte=0), name="customer_total_spent_gte_0"),
            models.CheckConstraint(condition=~Q(email=""), name="customer_email_null_not_empty"),
            # A document is never stored without its hash (nor as ""): the hash is how it is found.
            models.CheckConstraint(condition=Q(document_number__isnull=True) | Q(document_hash__isnull=False),
                                   name="customer_document_hashed"),
        ]
        # Only indexes a query uses: name and phone searches are substring matches (a btree cannot
        # serve them) and status/country have few values. Each index slows every bulk insert.
        indexes = [
            models.Index(fields=["merged_into"], name="merged_customer_idx", condition=Q(merged_into__isnull=False)),
            models.Index(fields=["-last_purchase_at"], name="customer_last_purchase_idx"),
            models.Index(fields=["-total_spent"], name="customer_total_spent_idx"),
            # Profiles changed since a cursor (the CRM push reads them in updated_at order).
            models.Index(fields=["updated_at", "id"], name="customer_updated_idx"),
            # Word-prefix search, accent- and case-insensitive (customers/search.py).
            GinIndex(fields=["search_vector"], name="customer_search_idx"),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email or f"Customer {self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class CustomerIdentity(models.Model):
    """(source, external id) -> customer: the identity graph unification writes."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities", db_index=False)
    source = models.CharField(max_length=50)
    external_id = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source", "external_id"]
        verbose_name_plural = "customer identities"
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="uniq_identity_source_external"),
        ]
        indexes = [models.Index(fields=["customer"], name="identity_customer_idx")]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class Address(TimeStampedModel):
    class Type(models.TextChoices):
        SHIPPING = "shipping", _("Shipping")
        BILLING = "billing", _("Billing")

    # Indexed by address_customer_idx (the foreign key's own index would repeat it).
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses", db_index=False)
    address_type = models.CharField(max_length=10, choices=Type.choices, default=Type.SHIPPING)
    recipient_name = models.CharField(max_length=255, blank=True)
    line1 = models.CharField(max_length=255)
    line2 = models.CharField(max_length=255, blank=True)
    number = models.CharField(max_length=20, blank=True)
    neighborhood = models.CharField(max_length=100, blank=True)
    city = models.CharField(max_length=150, blank=True)
    state = models.CharField(max_length=150, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    is_default = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    source = models.CharField(max_length=50, blank=True)

    class Meta:
        ordering = ["customer_id", "-is_default", "id"]
        verbose_name_plural = "addresses"
        constraints = [
            # One default per customer and type.
            models.UniqueConstraint(
                fields=["customer", "address_type"], condition=Q(is_default=True), name="uniq_address_default_per_type"
            ),
        ]
        indexes = [
            models.Index(fields=["customer"], name="address_customer_idx"),
            models.Index(fields=["postal_code"], name="address_postal_code_idx"),
        ]

    def __str__(self) -> str:
        return ", ".join(part for part in (f"{self.line1} {self.number}".strip(), self.city, self.country) if part)


class CustomerChangeLog(models.Model):
    """One changed field of one customer: old value, new value, who/which source and why."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="change_logs", db_index=False)
    field = models.CharField(max_length=100)
    old_value = SealedChangeValueField(null=True, blank=True)
    new_value = SealedChangeValueField(null=True, blank=True)
    source = models.CharField(max_length=50, blank=True)
    changed_by = models.CharField(max_length=255, blank=True, help_text="User email, api-key:<prefix> or system.")
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="changelog_customer_time_idx")]

    def __str__(self) -> str:
        # No values: a row's name shows up in admin checkboxes, messages and history, where a
        # reader without ``unmask`` must not see the e-mail or document it changed.
        return f"Change #{self.pk} of customer {self.customer_id}: {self.field}"


class SourcePriority(models.Model):
    """How much a tenant trusts a source: a source may overwrite values set by sources of equal
    or lower priority. ``manual`` always outranks every feed (MANUAL_PRIORITY)."""

    source = models.CharField(max_length=50, unique=True)
    priority = models.IntegerField(default=DEFAULT_SOURCE_PRIORITY)
    description = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-priority", "source"]
        verbose_name_plural = "source priorities"

    def __str__(self) -> str:
        return f"{self.source} ({self.priority})"
