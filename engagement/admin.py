"""Engagement in the tenant's admin. Templates save through the service (each save is a new
version, audited); notifications are read-only (the queue writes them); campaigns are read-only
with a "Send" action that calls the service."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from cdp.admin_mixins import ReadOnlyAdminMixin, ServiceFormAdminMixin, model_field_names, service_action
from cdp.context import actor_from_request
from cdp.crypto import decrypt_text
from engagement.models import AudienceDestination, Campaign, EngagementSettings, MessageTemplate, Notification, \
    ProviderCredentials, TriggerRule
from engagement.selectors import PROVIDER_FIELDS
from engagement.services.campaigns import campaign_send
from engagement.services.settings import SETTINGS_FIELDS, engagement_settings_update, provider_credentials_set
from engagement.services.templates import message_template_create
from engagement.services.triggers import trigger_rule_create
from tenants.admin_site import TenantModelAdmin, tenant_admin_site
from tenants.roles import INTEGRATIONS


class MessageTemplateAdmin(ServiceFormAdminMixin, TenantModelAdmin):
    list_display = ("name", "channel", "purpose", "language", "version", "is_active", "created_at")
    list_filter = ("channel", "purpose", "language", "is_active")
    search_fields = ("name",)
    fields = ("name", "channel", "purpose", "language", "subject", "body", "whatsapp_template")
    readonly_fields = ("version", "created_by", "created_at")

    def has_delete_permission(self, request, obj=None):
        return False  # sent notifications point at their version

    def service_save(self, request, obj, form, change):
        data = form.cleaned_data
        return message_template_create(actor=actor_from_request(request), **{
            name: data.get(name) or "" for name in self.fields})


class NotificationAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ("id", "customer", "channel", "purpose", "trigger", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status", "channel", "purpose", "trigger")
    search_fields = ("provider_message_id", "key")
    raw_id_fields = ("customer", "template", "campaign")
    list_select_related = ("customer",)
    readonly_fields = model_field_names(Notification)
    ordering = ("-created_at", "-id")


@service_action(description=_("Send selected draft campaigns"), done=_("campaign(s) sending"))
def send_campaigns(campaign, *, actor, request):
    campaign_send(campaign_id=campaign.pk, actor=actor)


class CampaignAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ("name", "segment_id", "template", "status", "audience_size", "started_at", "created_at")
    list_filter = ("status",)
    search_fields = ("name",)
    readonly_fields = model_field_names(Campaign)
    actions = [send_campaigns]


class TriggerRuleAdmin(ServiceFormAdminMixin, TenantModelAdmin):
    list_display = ("event", "template", "segment_id", "is_active", "created_at")
    list_filter = ("event", "is_active")
    fields = ("event", "template", "segment_id")
    readonly_fields = ("created_by", "created_at")

    def has_change_permission(self, request, obj=None):
        return obj is None  # rules are added (audited); to change one, add another

    def has_delete_permission(self, request, obj=None):
        return False

    def service_save(self, request, obj, form, change):
        data = form.cleaned_data
        return trigger_rule_create(event=data["event"], template_id=data["template"].pk,
                                   segment_id=data.get("segment_id"), actor=actor_from_request(request))


class AudienceDestinationAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ("platform", "audience_id", "segment_id", "is_active", "sent_count", "invalid_count",
                    "removed_count", "last_synced_at")
    readonly_fields = model_field_names(AudienceDestination)


def _credential_field(provider: str, name: str, secret: bool) -> forms.Field:
    label = f"{name.replace('_', ' ')}"
    if secret:
        return forms.CharField(
            label=label, required=False, strip=True, widget=forms.PasswordInput(render_value=False),
            help_text=_("Stored encrypted and never shown again. Leave blank to keep the stored value."))
    return forms.CharField(label=label, required=False, strip=True, max_length=255)


class _ProviderCredentialsFormBase(forms.ModelForm):
    class Meta:
        model = ProviderCredentials
        fields = ("provider", "is_active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:  # the settings that are not secret, as stored; secrets stay blank
            for name, value in (self.instance.public or {}).items():
                self.initial[f"{self.instance.provider}__{name}"] = value


#: The tenant's own account at one provider: its settings, and its secrets as write-only fields
#: (``<provider>__<name>``; only the chosen provider's are used).
ProviderCredentialsForm = type("ProviderCredentialsForm", (_ProviderCredentialsFormBase,), {
    f"{provider}__{name}": _credential_field(provider, name, secret=part == "secret")
    for provider, parts in PROVIDER_FIELDS.items() for part in ("public", "secret") for name in parts[part]})


class ProviderCredentialsAdmin(ServiceFormAdminMixin, TenantModelAdmin):
    """A tenant's own provider accounts (connecting one is an integration's job: ``integrations``).
    Secrets go in, encrypted (``cdp.crypto``), and never come back out: not in the form, the list
    or the audit entry."""

    required_capability = INTEGRATIONS
    form = ProviderCredentialsForm
    list_display = ("provider", "is_active", "secrets_set", "updated_by", "updated_at")
    readonly_fields = ("updated_by", "updated_at")

    def get_fieldsets(self, request, obj=None):
        providers = [obj.provider] if obj is not None else list(PROVIDER_FIELDS)
        sets = [(None, {"fields": ["provider", "is_active"] if obj is None else ["is_active", "updated_by"]})]
        for provider in providers:
            parts = PROVIDER_FIELDS[provider]
            sets.append((ProviderCredentials.Provider(provider).label, {
                "fields": [f"{provider}__{name}" for name in (*parts["public"], *parts["secret"])]}))
        return sets

    def get_readonly_fields(self, request, obj=None):
        return ("provider", "updated_by", "updated_at") if obj is not None else ("updated_by", "updated_at")

    @admin.display(description=_("secrets set"))
    def secrets_set(self, obj):
        names = sorted(json.loads(decrypt_text(obj.secrets_encrypted))) if obj.secrets_encrypted else []
        return ", ".join(names) or "-"

    def service_save(self, request, obj, form, change):
        data = form.cleaned_data
        provider = obj.provider if obj is not None and obj.pk else data["provider"]
        parts = PROVIDER_FIELDS[provider]
        return provider_credentials_set(
            provider=provider, actor=actor_from_request(request), is_active=data.get("is_active", True),
            public={name: data.get(f"{provider}__{name}") or "" for name in parts["public"]},
            secrets={name: data.get(f"{provider}__{name}") or "" for name in parts["secret"]})


class EngagementSettingsAdmin(ServiceFormAdminMixin, TenantModelAdmin):
    """The tenant's sending rules: double opt-in, frequency cap, quiet hours, monthly quota."""

    fields = SETTINGS_FIELDS
    readonly_fields = ("updated_by", "updated_at")
    list_display = ("__str__", "double_opt_in_email", "frequency_cap", "quiet_hours_start", "quiet_hours_end",
                    "monthly_send_quota")

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not EngagementSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def service_save(self, request, obj, form, change):
        return engagement_settings_update(actor=actor_from_request(request),
                                          **{name: form.cleaned_data.get(name) for name in SETTINGS_FIELDS})


for model, model_admin in ((AudienceDestination, AudienceDestinationAdmin), (MessageTemplate, MessageTemplateAdmin), (Notification, NotificationAdmin),
                           (Campaign, CampaignAdmin), (TriggerRule, TriggerRuleAdmin),
                           (ProviderCredentials, ProviderCredentialsAdmin),
                           (EngagementSettings, EngagementSettingsAdmin)):
    tenant_admin_site.register(model, model_admin)
