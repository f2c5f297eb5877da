from django import forms
from django.utils.translation import gettext_lazy as _

from analytics.builder import rules_from_post
from analytics.rules import RuleError
from cdp.widgets import LocalDateInput


class RunForm(forms.Form):
    as_of = forms.DateField(required=False, widget=LocalDateInput, localize=True, label=_("As of"),
                            help_text=_("Leave empty for today."))


class SegmentForm(forms.Form):
    """A segment from the visual builder: name, description and state here; the rules come from the
    builder's rows (``analytics.builder.rules_from_post``), and a segment without any condition is a
    form error (never an example rule saved in its place)."""

    name = forms.CharField(max_length=150, label=_("Name"))
    description = forms.CharField(max_length=255, required=False, label=_("Description"))
    is_active = forms.BooleanField(required=False, initial=True, label=_("Active"))

    def clean(self):
        cleaned = super().clean()
        try:
            cleaned["rules"] = rules_from_post(self.data)
        except RuleError as exc:
            self.add_error(None, exc.message)
        return cleaned
