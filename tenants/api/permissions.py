from __future__ import annotations

from django.db import connection
from rest_framework import exceptions, permissions

from cdp.registry import api_key_partner
from tenants.codes import ErrorCode
from tenants.models import ApiKey, Tenant
from tenants.roles import READ, WRITE
from tenants.selectors import user_capabilities


def request_key_partner(request) -> str | None:
    """The partner (slug) the request's API key is bound to (None: a member, or an unbound key);
    looked up once per request."""
    if not isinstance(request.auth, ApiKey):
        return None
    if not hasattr(request, "_cdp_key_partner"):
        request._cdp_key_partner = api_key_partner(request.auth.pk)
    return request._cdp_key_partner


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

    An API key bound to a coalition partner (``cdp.registry.api_key_partner``) reaches only the
    views that declare ``serves_partner_keys = True`` (they narrow what they show to its partner):
    fenced by default, so a new endpoint never leaks the program's data to one partner's key.
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
        if not getattr(view, "serves_partner_keys", False) and request_key_partner(request) is not None:
            raise exceptions.PermissionDenied("This API key is bound to a partner: it reaches its partner's "
                                              "endpoints only.")
        action = getattr(view, "action", None) or request.method.lower()
        required = getattr(view, "required_capabilities", {}).get(action)
        if required is None:
            required = READ if request.method in permissions.SAFE_METHODS else WRITE
        return required in request_capabilities(request)
