"""Consent in the tenant's admin: read-only. Answers change through the API, the member page
and the unsubscribe link (``customers.services.consent``), each with its proof; an admin form
would record a change with no proof of what the person said."""

from __future__ import annotations

from cdp.admin_mixins import ReadOnlyAdminMixin, model_field_names
from customers.models import Consent, ConsentEvent
from tenants.admin_site import TenantModelAdmin


class ConsentAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ("customer", "channel", "purpose", "granted", "source", "recorded_at")
    list_filter = ("channel", "purpose", "granted", "source")
    search_fields = ("customer__email",)
    raw_id_fields = ("customer",)
    list_select_related = ("customer",)
    readonly_fields = model_field_names(Consent)
    ordering = ("-recorded_at", "-id")


class ConsentEventAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ("customer", "channel", "purpose", "previous", "granted", "source", "recorded_by", "created_at")
    list_filter = ("channel", "purpose", "granted", "source")
    search_fields = ("customer__email",)
    raw_id_fields = ("customer",)
    list_select_related = ("customer",)
    readonly_fields = model_field_names(ConsentEvent)
    ordering = ("-created_at", "-id")
