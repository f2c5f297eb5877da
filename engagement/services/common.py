"""Pieces the engagement services share: the tenant's audit entry and its public links."""

from __future__ import annotations

from django.db import connection
from django.urls import reverse
from django_tenants.utils import get_public_schema_name

from cdp.context import Actor
from engagement import conf
from tenants.services import audit_record


def audit(*, actor: Actor, action: str, resource_type: str, resource_id: object = "", changes: dict | None = None):
    tenant = getattr(connection, "tenant", None)
    return audit_record(actor=actor, action=action, resource_type=resource_type, resource_id=resource_id,
                        tenant=tenant if tenant is not None and tenant.schema_name != get_public_schema_name()
                        else None, changes=changes)


def public_url(url_name: str, *args) -> str:
    """An absolute link on the current tenant's primary host (what a message's reader clicks, or a
    provider calls back); empty outside a tenant."""
    tenant = getattr(connection, "tenant", None)
    if tenant is None or tenant.schema_name == get_public_schema_name():
        return ""
    domain = tenant.get_primary_domain()
    if domain is None:
        return ""
    return f"{conf.get('ENGAGEMENT_PUBLIC_SCHEME')}://{domain.domain}{reverse(url_name, args=args)}"


def tenant_name() -> str:
    tenant = getattr(connection, "tenant", None)
    return getattr(tenant, "name", "") or ""
