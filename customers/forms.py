"""Portal forms of the customers app: they only collect input; the services validate and write."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

#: Fields a reader without ``unmask`` and ``sensitive`` never sees in full: the edit form leaves them
#: out for them (a masked value sent back would be written as if it were the real one).
IDENTITY_FIELDS = ("email", "phone", "document_type", "document_number")


class CustomerEditForm(forms.Form):
    """A person's edit of a profile (``customers.services.customer_update``): only the fields the
    person changed are sent, and the service's field errors come back on the fields."""

    first_name = forms.CharField(label=_("First name"), required=False, max_length=150)
    last_name = forms.CharField(label=_("Last name"), required=False, max_length=150)
    email = forms.CharField(label=_("Email"), required=False, max_length=254)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=40)
    document_type = forms.CharField(label=_("Document type"), required=False, max_length=20,
                                    help_text=_("CPF, CNPJ, CUIT, CUIL, RUT, RFC, CURP, CC, NIT, DNI, passport…"))
    document_number = forms.CharField(label=_("Document number"), required=False, max_length=50,
                                      help_text=_("With or without punctuation: it is checked by its check digits."))
    country = forms.CharField(label=_("Country (ISO code)"), required=False, max_length=60)

    def __init__(self, *args, full: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not full:
            for name in IDENTITY_FIELDS:
                del self.fields[name]

    def changes(self) -> dict:
        """The fields the person changed, as the service takes them."""
        return {name: self.cleaned_data[name] for name in self.changed_data}
