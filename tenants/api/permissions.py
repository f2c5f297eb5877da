from __future__ import annotations

from django.db import connection
from rest_framework import exceptions, permissions

from tenants.codes import ErrorCode
from tenants.models import ApiKey, Tenant
from tenants.roles import READ, WRITE
from tenants.selectors import user_capabilities


def request_capabilities(request) -> frozenset[str]:
    """What the caller may do on this tenant's host: the key's scopes or the member's role."""
    cached = getattr(request, "_cdp_capabilities", None)
    if cached is not None:
        return cached
    tenant = getattr(connection, "tenant", None)
    if isinstance(request.auth, ApiKey):
        caps = frozenset(request.auth.scopes)
    elif tenant is not None and request.user and request.user.is_authenticated:
        caps = user_capabilities(user=request.user, tenant=tenant)
    else:
        caps = frozenset()
    request._cdp_capabilities = caps
    return caps


class TenantCapability(permissions.BasePermission):
    """Authenticated, on an active tenant's host, holding the capability the action needs.

    A view may declare ``required_capabilities = {"action": "capability"}``; otherwise reads
    need ``read`` and writes need ``write``.
    """

    message = "You do not have permission to perform this action."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        tenant = getattr(connection, "tenant", None)
        if tenant is None or tenant.schema_name == "public":
            return False
        if tenant.status != Tenant.Status.ACTIVE:
            raise exceptions.PermissionDenied(f"This tenant is {tenant.status}.", code=ErrorCode.TENANT_INACTIVE)
        action = getattr(view, "action", None) or request.method.lower()
        required = getattr(view, "required_capabilities", {}).get(action)
        if required is None:
            required = READ if request.method in permissions.SAFE_METHODS else WRITE
        return required in request_capabilities(request)
