"""The admin a tenant's owners and admins see on their own host (``<slug>.localhost/admin/``).

It shows only the tenant's own rows: tenant-schema models are isolated by the schema itself,
and the shared models registered here go through ``TenantScopedAdmin``, which filters by the
current tenant and sets it on save. Platform staff (superusers) may enter any tenant's admin.
"""

from __future__ import annotations

from django.contrib import admin
from django.db import connection

from tenants.admin_history import RedactedHistoryMixin
from tenants.models import Role
from tenants.selectors import membership_role

ADMIN_ROLES = frozenset({Role.OWNER, Role.ADMIN})


def can_manage_tenant(user) -> bool:
    tenant = getattr(connection, "tenant", None)
    if tenant is None or tenant.schema_name == "public" or not (user.is_active and user.is_authenticated):
        return False
    if user.is_superuser:
        return True
    return membership_role(user=user, tenant=tenant) in ADMIN_ROLES


class TenantAdminSite(admin.AdminSite):
    site_header = "CDP · tenant administration"
    site_title = "CDP tenant admin"
    index_title = "Your organization"

    def has_permission(self, request) -> bool:
        return can_manage_tenant(request.user)

    def each_context(self, request):
        context = super().each_context(request)
        tenant = getattr(connection, "tenant", None)
        if tenant is not None:
            context["site_header"] = f"{tenant.name} · administration"
        return context


class TenantModelAdmin(RedactedHistoryMixin, admin.ModelAdmin):
    """Permissions come from the membership role, not Django's per-model permissions. History
    entries are the tenant's own and carry no secrets (``tenants.admin_history``)."""

    def has_module_permission(self, request) -> bool:
        return can_manage_tenant(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return can_manage_tenant(request.user)

    def has_add_permission(self, request) -> bool:
        return can_manage_tenant(request.user)

    def has_change_permission(self, request, obj=None) -> bool:
        return can_manage_tenant(request.user)

    def has_delete_permission(self, request, obj=None) -> bool:
        return can_manage_tenant(request.user)


class TenantScopedAdmin(TenantModelAdmin):
    """For shared (public-schema) models with a ``tenant`` foreign key."""

    tenant_field = "tenant"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(**{self.tenant_field: connection.tenant})

    def get_exclude(self, request, obj=None):
        return [*(super().get_exclude(request, obj) or []), self.tenant_field]


tenant_admin_site = TenantAdminSite(name="tenant_admin")
