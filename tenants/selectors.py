"""Reads about tenants, memberships and usage."""

from __future__ import annotations

from django.db.models import QuerySet
from django_tenants.utils import tenant_context

from cdp import registry
from tenants.models import ApiKey, AuditLog, Membership, Tenant, User
from tenants.roles import capabilities_for_role


def membership_role(*, user: User, tenant: Tenant) -> str | None:
    """The user's role in ``tenant``, or None when not a member."""
    if not user.is_authenticated or tenant.is_public:
        return None
    return Membership.objects.filter(user=user, tenant=tenant).values_list("role", flat=True).first()


def user_capabilities(*, user: User, tenant: Tenant) -> frozenset[str]:
    """Superusers (platform operators) hold every capability; others get their role's set."""
    if user.is_authenticated and user.is_superuser and user.is_active:
        return capabilities_for_role("owner")
    return capabilities_for_role(membership_role(user=user, tenant=tenant))


def tenant_usage(*, tenant: Tenant) -> dict:
    """Counts the tenant is billed and limited by. Apps add their own through ``cdp.registry``."""
    usage = {
        "users": Membership.objects.filter(tenant=tenant).count(),
        "api_keys": ApiKey.objects.filter(tenant=tenant, revoked_at__isnull=True).count(),
    }
    with tenant_context(tenant):
        for name, provider in registry.usage_providers():
            usage[name] = provider()
    return usage


def tenant_list_active() -> QuerySet[Tenant]:
    return Tenant.objects.exclude(schema_name="public").filter(status=Tenant.Status.ACTIVE).order_by("pk")


def tenant_audit_log(*, tenant: Tenant) -> QuerySet[AuditLog]:
    return AuditLog.objects.filter(tenant=tenant).select_related("actor")
