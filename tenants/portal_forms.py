from django import forms

from tenants.roles import CAPABILITIES, DEFAULT_KEY_SCOPES


class ApiKeyPortalForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses this key, e.g. 'VTEX importer'.")
    scopes = forms.MultipleChoiceField(
        choices=[(c, c) for c in CAPABILITIES], initial=list(DEFAULT_KEY_SCOPES),
        widget=forms.CheckboxSelectMultiple,
    )
