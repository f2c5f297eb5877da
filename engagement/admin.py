"""Engagement in the tenant's admin. Templates save through the service (each save is a new
version, audited); notifications are read-only (the queue writes them); campaigns are read-only
with a "Send" action that calls the service."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from cdp.admin_mixins import ReadOnlyAdminMixin, ServiceFormAdminMixin, model_field_names, service_action
from cdp.context import actor_from_request
from engagement.models import AudienceDestination, Campaign, MessageTemplate, Notification, TriggerRule
from engagement.services.campaigns import campaign_send
from engagement.services.templates import message_template_create
from engagement.services.triggers import trigger_rule_create
from tenants.admin_site import TenantModelAdmin, tenant_admin_site


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


for model, model_admin in ((AudienceDestination, AudienceDestinationAdmin), (MessageTemplate, MessageTemplateAdmin), (Notification, NotificationAdmin),
                           (Campaign, CampaignAdmin), (TriggerRule, TriggerRuleAdmin)):
    tenant_admin_site.register(model, model_admin)
