"""Tenant admin: integrations (credentials write-only), sync log, spend, webhooks. Writes and
actions go through the services."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _

from cdp.admin_mixins import ReadOnlyAdminMixin, ServiceDeleteAdminMixin, ServiceFormAdminMixin, service_action
from cdp.context import actor_from_request
from cdp.softdelete import SoftDeleteAdminMixin
from integrations import services
from integrations.models import AdSpendDaily, Integration, SyncLog, WebhookDelivery, WebhookEndpoint
from tenants.admin_site import ShowSecretOnceAdminMixin, TenantModelAdmin, tenant_admin_site


class WriteOnlyTextarea(forms.Textarea):
    """Never renders a value back, like ``PasswordInput``: typed credentials are not echoed into
    the page, not even when the form comes back with errors."""

    def format_value(self, value):
        return None


class IntegrationAdminForm(forms.ModelForm):
    base_url = forms.URLField(max_length=500, required=False, assume_scheme="https",
                              help_text="Empty: the source's production API.")
    credentials = forms.CharField(
        required=False, widget=WriteOnlyTextarea(attrs={"rows": 4, "autocomplete": "off"}),
        help_text="JSON object. Write-only: leave empty to keep the stored credentials; keys given are "
                  "replaced (null removes one). Stored credentials are never shown, and typed ones are not "
                  "shown again when the form has errors.")

    class Meta:
        model = Integration
        fields = ["integration_type", "account_name", "base_url", "config", "sync_frequency", "is_active"]

    def clean_credentials(self):
        raw = self.cleaned_data.get("credentials", "").strip()
        if not raw:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            raise forms.ValidationError("Not valid JSON.") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("Must be a JSON object.")
        return value


@admin.register(Integration, site=tenant_admin_site)
class IntegrationAdmin(SoftDeleteAdminMixin, ServiceFormAdminMixin, ServiceDeleteAdminMixin, TenantModelAdmin):
    form = IntegrationAdminForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["__str__", "sync_frequency", "is_active", "state", "last_sync_at", "last_sync_status"]
    list_filter = ["integration_type", "sync_frequency", "is_active", "last_sync_status"]
    search_fields = ["account_name"]
    readonly_fields = ["state", "last_sync_at", "last_sync_status", "last_sync_error", "cursor", "created_at"]
    actions = ["sync_now", "restore"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "integration_type"] if obj else self.readonly_fields

    def service_save(self, request, obj, form, change):
        data = form.cleaned_data
        actor = actor_from_request(request)
        values = {key: data[key] for key in ("account_name", "base_url", "config", "sync_frequency", "is_active")}
        if change:
            return services.integration_update(integration_id=obj.pk, actor=actor, credentials=data.get("credentials"),
                                               **values)
        return services.integration_create(actor=actor, integration_type=data["integration_type"],
                                           credentials=data.get("credentials") or {}, **values)

    def service_delete(self, request, obj):
        services.integration_delete(integration_id=obj.pk, actor=actor_from_request(request))

    @service_action(description="Restore selected deleted integrations", done="integration(s) restored")
    def restore(integration, *, actor, request):
        services.integration_restore(integration_id=integration.pk, actor=actor)

    @service_action(description="Sync now", done="sync(s) queued")
    def sync_now(integration, *, actor, request):
        services.integration_sync_request(integration_id=integration.pk, actor=actor)


@admin.register(SyncLog, site=tenant_admin_site)
class SyncLogAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ["integration", "started_at", "trigger", "status", "pages", "records_created", "records_updated",
                    "records_rejected", "duration_ms"]
    list_filter = ["status", "trigger", "integration"]
    list_select_related = ["integration"]


@admin.register(AdSpendDaily, site=tenant_admin_site)
class AdSpendDailyAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ["date", "channel", "campaign_name", "spend", "clicks", "impressions", "conversions",
                    "conversion_value"]
    list_filter = ["channel"]
    search_fields = ["campaign_name", "campaign_id"]
    date_hierarchy = "date"
    exclude = ["raw"]


class WebhookEndpointAdminForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "events", "is_active"]


@admin.register(WebhookEndpoint, site=tenant_admin_site)
class WebhookEndpointAdmin(SoftDeleteAdminMixin, ShowSecretOnceAdminMixin, ServiceFormAdminMixin,
                           ServiceDeleteAdminMixin, TenantModelAdmin):
    form = WebhookEndpointAdminForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["url", "is_active", "consecutive_failures", "disabled_at", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    readonly_fields = ["consecutive_failures", "disabled_at", "disabled_reason"]
    actions = ["ping", "restore"]

    def service_save(self, request, obj, form, change):
        data = form.cleaned_data
        actor = actor_from_request(request)
        if change:
            return services.webhook_endpoint_update(endpoint_id=obj.pk, actor=actor, url=data["url"],
                                                    events=data["events"], description=data["description"],
                                                    is_active=data["is_active"])
        endpoint, secret = services.webhook_endpoint_create(actor=actor, url=data["url"], events=data["events"],
                                                            description=data["description"])
        # Shown once, like an API key, on the page answering the form (never in a message, which
        # would keep it in the messages storage): the receiver needs it to verify signatures.
        self.show_secret_once(request, label="Signing secret", secret=secret)
        return endpoint

    def service_delete(self, request, obj):
        services.webhook_endpoint_delete(endpoint_id=obj.pk, actor=actor_from_request(request))

    @service_action(description="Restore selected deleted endpoints", done="endpoint(s) restored")
    def restore(endpoint, *, actor, request):
        services.webhook_endpoint_restore(endpoint_id=endpoint.pk, actor=actor)

    @service_action(description=_("Send a test ping"),
                    done=_("ping(s) queued; their answers appear in the webhook deliveries"))
    def ping(endpoint, *, actor, request):
        services.webhook_ping(endpoint_id=endpoint.pk, actor=actor)


@admin.register(WebhookDelivery, site=tenant_admin_site)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ["created_at", "endpoint", "event", "status", "attempts", "response_code", "response_time_ms"]
    list_filter = ["status", "event"]
    list_select_related = ["endpoint"]
    actions = ["redeliver"]

    @service_action(description="Redeliver", done="delivery(ies) queued again")
    def redeliver(delivery, *, actor, request):
        services.webhook_redeliver(endpoint_id=delivery.endpoint_id, delivery_id=delivery.pk, actor=actor)


