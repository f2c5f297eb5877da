"""Signal receivers: entry points like views, each calling one service and nothing else."""

from __future__ import annotations

from django_tenants.utils import get_public_schema_name, tenant_context

from loyalty.services import loyalty_defaults_create


def on_tenant_schema_created(sender, tenant, **kwargs) -> None:
    """A new tenant's schema exists and is migrated (django-tenants' ``post_schema_sync``): its
    loyalty program and tier rules, in its currency, so that no read ever has to create them. (The
    signal is sent for the public tenant's row too: it has no loyalty tables.)"""
    if tenant.schema_name == get_public_schema_name():
        return
    with tenant_context(tenant):
        loyalty_defaults_create(currency=tenant.setting("currency"))
