from django import forms
from django.utils.translation import gettext_lazy as _

from cdp.widgets import LocalDateInput


class RunForm(forms.Form):
    as_of = forms.DateField(required=False, widget=LocalDateInput, localize=True, label=_("As of"),
                            help_text=_("Leave empty for today."))


class SegmentForm(forms.Form):
    name = forms.CharField(max_length=150, label=_("Name"))
    description = forms.CharField(max_length=255, required=False, label=_("Description"))
    rules = forms.JSONField(
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        initial={"op": "and", "rules": [{"field": "rfm_segment", "operator": "in", "value": ["at_risk", "cant_lose"]},
                                         {"field": "total_spent", "operator": "gte", "value": 100}]},
        label=_("Rules"),
        help_text=_('JSON: {"op": "and"|"or", "rules": [{"field", "operator", "value"} or nested groups]}'),
    )
    is_active = forms.BooleanField(required=False, initial=True, label=_("Active"))
