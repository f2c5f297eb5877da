"""Portal forms: a customer's edit, adding a lead or a subscriber, a customer's custom attributes.
They only collect the input; the services check it and their field errors land on the form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import AttributeDefinition, Customer


class LeadForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=[("lead", _("Lead")), ("subscriber", _("Subscriber"))])
    email = forms.CharField(label=_("Email"), required=False, max_length=254)
    first_name = forms.CharField(label=_("First name"), required=False, max_length=150)
    last_name = forms.CharField(label=_("Last name"), required=False, max_length=150)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=40)
    country = forms.CharField(label=_("Country"), required=False, max_length=60)

    def record(self) -> dict:
        """The customer record the lead ingest takes (empty fields left out)."""
        return {name: value for name, value in self.cleaned_data.items() if value}


BOOLEAN_CHOICES = [("", "—"), ("true", _("Yes")), ("false", _("No"))]


class AttributesForm(forms.Form):
    """One field per active attribute, named by its key; an empty field clears the value."""

    def __init__(self, *args, definitions: list[AttributeDefinition], **kwargs):
        super().__init__(*args, **kwargs)
        for definition in definitions:
            if definition.type == AttributeDefinition.Type.CHOICE:
                field = forms.ChoiceField(choices=[("", "—"), *((c, c) for c in definition.choices)])
            elif definition.type == AttributeDefinition.Type.BOOLEAN:
                field = forms.ChoiceField(choices=BOOLEAN_CHOICES)
            elif definition.type == AttributeDefinition.Type.DATE:
                field = forms.CharField(widget=forms.DateInput(attrs={"type": "date"}))
            else:
                field = forms.CharField(max_length=500)
            field.required = False
            field.label = definition.label
            field.help_text = definition.description
            self.fields[definition.key] = field


#: Always editable by a writer.
BASE_FIELDS = ("first_name", "last_name", "city", "state", "country", "customer_type")
#: Shown masked without ``unmask``: editable only by whoever sees them in full (a masked value
#: sent back would overwrite the real one).
UNMASKED_FIELDS = ("email", "phone")
#: Hidden without ``sensitive`` (customers.field_permissions refuses their change anyway).
SENSITIVE_FIELDS = ("document_type", "document_number", "birth_date")


class CustomerEditForm(forms.Form):
    """A person's edit of a profile. Plain text in, the service normalizes and judges each field
    (its refusals land on the fields); only the fields the person changed are sent."""

    first_name = forms.CharField(max_length=150, required=False, label=_("First name"))
    last_name = forms.CharField(max_length=150, required=False, label=_("Last name"))
    email = forms.CharField(max_length=254, required=False, label=_("Email"))
    phone = forms.CharField(max_length=40, required=False, label=_("Phone"))
    document_type = forms.CharField(max_length=20, required=False, label=_("Document type"),
                                    help_text=_("CPF, CNPJ, CUIT, CUIL, RUT, RFC, CURP, CC, NIT, DNI, passport…"))
    document_number = forms.CharField(max_length=50, required=False, label=_("Document number"),
                                      help_text=_("With or without punctuation: it is checked by its check digits."))
    birth_date = forms.CharField(max_length=20, required=False, label=_("Birth date"),
                                 help_text=_("Year-month-day, e.g. 1990-04-21."))
    city = forms.CharField(max_length=150, required=False, label=_("City"))
    state = forms.CharField(max_length=150, required=False, label=_("State or province"))
    country = forms.CharField(max_length=60, required=False, label=_("Country (ISO code)"))
    customer_type = forms.ChoiceField(choices=Customer.Type.choices, label=_("Customer type"))

    def __init__(self, *args, visibility, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = set(BASE_FIELDS) | (set(UNMASKED_FIELDS) if visibility.unmask else set()) | (
            set(SENSITIVE_FIELDS) - ({"document_number"} if not visibility.unmask else set())
            if visibility.sensitive else set())
        for name in list(self.fields):
            if name not in allowed:
                del self.fields[name]

    @staticmethod
    def initial_of(customer: Customer) -> dict:
        return {name: ("" if getattr(customer, name, None) is None else str(getattr(customer, name)))
                for name in (*BASE_FIELDS, *UNMASKED_FIELDS, *SENSITIVE_FIELDS)}
