"""Portal forms of the customers app."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import Customer

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
    document_type = forms.CharField(max_length=20, required=False, label=_("Document type"))
    document_number = forms.CharField(max_length=40, required=False, label=_("Document number"))
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
