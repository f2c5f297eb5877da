from django import forms
from django.utils.translation import gettext_lazy as _

from tenants.models import Role
from tenants.roles import CAPABILITIES, DEFAULT_KEY_SCOPES


def scope_choices(allowed) -> list[tuple[str, str]]:
    """The scopes a person may grant (what they hold themselves), in the canonical order."""
    return [(c, c) for c in CAPABILITIES if c in allowed]


def role_choices(allowed) -> list[tuple[str, str]]:
    return [(value, label) for value, label in Role.choices if value in allowed]


class ApiKeyPortalForm(forms.Form):
    name = forms.CharField(max_length=100, label=_("Name"), help_text=_("What uses this key, e.g. 'VTEX importer'."))
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"), choices=[(c, c) for c in CAPABILITIES], widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, grantable=CAPABILITIES, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = scope_choices(grantable)
        self.fields["scopes"].initial = [s for s in DEFAULT_KEY_SCOPES if s in grantable]


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)

    def __init__(self, *args, roles=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices(roles)
        if Role.VIEWER in roles:
            self.fields["role"].initial = Role.VIEWER


class RoleChangeForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)

    def __init__(self, *args, roles=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices(roles)


class InvitationAcceptExistingForm(forms.Form):
    """The invited address already has an account: its password proves it is theirs."""

    password = forms.CharField(label=_("Your password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class InvitationAcceptNewForm(forms.Form):
    full_name = forms.CharField(label=_("Your name"), max_length=255, required=False)
    password1 = forms.CharField(label=_("Choose a password"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label=_("Repeat the password"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return cleaned
