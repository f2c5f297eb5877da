from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ai.services.features import CHANNELS, GOALS, LANGUAGES


class MessageDraftForm(forms.Form):
    segment = forms.CharField(label=_("Segment"), max_length=120)
    description = forms.CharField(label=_("About the segment"), max_length=500, required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    channel = forms.ChoiceField(label=_("Channel"), choices=[(c, c) for c in CHANNELS])
    language = forms.ChoiceField(label=_("Language"), choices=[(code, code) for code in LANGUAGES])
    goal = forms.ChoiceField(label=_("Goal"), choices=[(g, g) for g in GOALS], initial="win-back")
    offer = forms.CharField(label=_("Offer"), max_length=200, required=False)


class SegmentDraftForm(forms.Form):
    text = forms.CharField(label=_("Which customers?"), max_length=500,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           help_text=_("For example: customers in São Paulo who bought twice in the last 90 days."))
    language = forms.ChoiceField(label=_("Language"), choices=[(code, code) for code in LANGUAGES])


class SegmentConfirmForm(forms.Form):
    name = forms.CharField(label=_("Segment name"), max_length=150)
    description = forms.CharField(label=_("Description"), max_length=255, required=False)
