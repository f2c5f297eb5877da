"""The data-access log in the tenant admin: read-only, for holders of ``audit``."""

from __future__ import annotations

from cdp.admin_mixins import ReadOnlyAdminMixin, model_field_names
from customers.models import DataAccessLog
from tenants.admin_site import TenantModelAdmin
from tenants.roles import AUDIT


class DataAccessLogAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    required_capability = AUDIT
    list_display = ("created_at", "actor_label", "action", "channel", "resource_type", "resource_id", "rows", "masked",
                    "ip_address")
    list_filter = ("action", "channel", "resource_type", "masked")
    search_fields = ("actor_label", "=resource_id", "=ip_address")
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = model_field_names(DataAccessLog)
