from django import forms
from django.contrib.auth.forms import AdminPasswordChangeForm as BaseAdminPasswordChangeForm
from django.contrib.auth.forms import UserChangeForm as BaseUserChangeForm
from django.contrib.auth.forms import UserCreationForm as BaseUserCreationForm

from django.core.exceptions import ValidationError

from tenants.models import ApiKey, Domain, Invitation, Tenant, User, validate_slug
from tenants.roles import CAPABILITIES, DEFAULT_KEY_SCOPES
from tenants.services.memberships import user_password_set
from tenants.services.provisioning import HOSTNAME_RE


class LowercaseEmailMixin:
    """E-mails are stored lowercase and unique whatever their case (sign-in ignores case)."""

    def clean_email(self):
        email = (self.cleaned_data.get("email") or "").strip().lower()
        taken = User.objects.filter(email__iexact=email)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError("A user with that email already exists.")
        return email


class UserCreationForm(LowercaseEmailMixin, BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")


class UserChangeForm(LowercaseEmailMixin, BaseUserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class AdminPasswordChangeForm(BaseAdminPasswordChangeForm):
    """The operators' "change password" page: the password is set by ``user_password_set`` (audited)."""

    def __init__(self, user, *args, actor=None, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.actor = actor

    def save(self, commit=True):
        from_service = user_password_set(user=self.user, password=self.cleaned_data["password1"], actor=self.actor)
        self.user.password = from_service.password
        return self.user


class InvitationAdminForm(forms.ModelForm):
    """The tenant admin's "invite by e-mail" form (the service writes the invitation)."""

    class Meta:
        model = Invitation
        fields = ("email", "role")


class TenantProvisionForm(forms.ModelForm):
    """Admin add form: the fields ``tenant_provision`` takes."""

    domain = forms.CharField(required=False, help_text="Optional extra host; <slug>.localhost is always added.")

    class Meta:
        model = Tenant
        fields = ("name", "slug", "type")

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        try:
            validate_slug(slug)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc
        return slug

    def clean_domain(self):
        domain = (self.cleaned_data.get("domain") or "").strip().lower()
        if domain and not HOSTNAME_RE.match(domain):
            raise forms.ValidationError(f"'{domain}' is not a valid host name.")
        if domain and Domain.objects.filter(domain=domain).exists():
            raise forms.ValidationError("This domain already belongs to a tenant.")
        return domain


class ApiKeyCreateForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(c, c) for c in CAPABILITIES], initial=list(DEFAULT_KEY_SCOPES),
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = ApiKey
        fields = ("tenant", "name", "scopes", "expires_at")
