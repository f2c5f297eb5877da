"""Portal forms: a customer's edit, adding a lead or a subscriber, a customer's custom attributes.
They only collect the input; the services check it and their field errors land on the form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cdp.exceptions import ApplicationError
from customers.models import AttributeDefinition


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


def add_service_errors(form: forms.Form, exc: ApplicationError, *, prefix: str = "") -> None:
    """The service's field errors on the form's fields (``prefix`` stripped), the rest above it."""
    for name, messages in exc.fields.items():
        field = name.removeprefix(prefix)
        form.add_error(field if field in form.fields else None, messages)
    if not exc.fields:
        form.add_error(None, exc.message)


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
