"""The current tenant's settings as the customers app reads them."""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import get_public_schema_name


def tenant_setting(key: str):
    """Setting ``key`` of the tenant whose schema is in use (None outside a tenant's schema)."""
    tenant = getattr(connection, "tenant", None)
    if tenant is None or tenant.schema_name == get_public_schema_name():
        return None
    return tenant.setting(key)
