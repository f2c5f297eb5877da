"""Portal forms: adding a lead or a subscriber, and a customer's custom attributes. They only
collect the input; the services check it and their field errors land on the form."""

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
