"""Custom attributes (seed 003 ``customer_attributes``): typed fields a tenant defines for its
customers (text, number, date, boolean, choice), one value per customer and attribute.

Values live in typed columns (not one text column) so that segment rules compare numbers as
numbers and dates as dates, with parameters, and an invalid value can never be stored: the
service checks it against its definition and a constraint keeps one typed column per row."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cdp.models import TimeStampedModel

ATTRIBUTE_KEY_RE = r"^[a-z][a-z0-9_]{0,49}$"


class AttributeDefinition(TimeStampedModel):
    """One custom attribute of the tenant's customers: its key (used in the API, imports as
    ``attribute_<key>`` columns, segment rules and exports), its label and its type."""

    class Type(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        BOOLEAN = "boolean", _("Yes/no")
        CHOICE = "choice", _("Choice")

    key = models.CharField(_("key"), max_length=50, unique=True, validators=[RegexValidator(ATTRIBUTE_KEY_RE)],
                           help_text=_("Lowercase letters, digits and underscores, starting with a letter."))
    label = models.CharField(_("label"), max_length=100)
    type = models.CharField(_("type"), max_length=10, choices=Type.choices)
    choices = ArrayField(models.CharField(max_length=100), default=list, blank=True, verbose_name=_("choices"),
                         help_text=_("The allowed values of a choice attribute."))
    description = models.CharField(_("description"), max_length=255, blank=True)
    is_active = models.BooleanField(_("active"), default=True,
                                    help_text=_("Inactive attributes keep their values but take no new ones."))

    class Meta:
        ordering = ["key"]
        verbose_name = _("custom attribute")
        verbose_name_plural = _("custom attributes")

    def __str__(self) -> str:
        return f"{self.label} ({self.key})"


class CustomerAttributeValue(models.Model):
    """A customer's value of one attribute, in the column of the attribute's type."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="attribute_values",
                                 db_index=False)
    definition = models.ForeignKey(AttributeDefinition, on_delete=models.CASCADE, related_name="values")
    value_text = models.CharField(max_length=500, null=True, blank=True)  # text and choice
    value_number = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    value_date = models.DateField(null=True, blank=True)
    value_bool = models.BooleanField(null=True, blank=True)
    source = models.CharField(max_length=50, blank=True, help_text="The source whose value is current.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["customer_id", "definition_id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "definition"], name="uniq_customer_attribute"),
            # Exactly one typed column holds the value.
            models.CheckConstraint(
                condition=(Q(value_text__isnull=False, value_number__isnull=True, value_date__isnull=True,
                             value_bool__isnull=True)
                           | Q(value_text__isnull=True, value_number__isnull=False, value_date__isnull=True,
                               value_bool__isnull=True)
                           | Q(value_text__isnull=True, value_number__isnull=True, value_date__isnull=False,
                               value_bool__isnull=True)
                           | Q(value_text__isnull=True, value_number__isnull=True, value_date__isnull=True,
                               value_bool__isnull=False)),
                name="attribute_value_one_column"),
        ]

    def __str__(self) -> str:
        # No value: names show in admin checkboxes and messages.
        return f"Attribute {self.definition_id} of customer {self.customer_id}"
