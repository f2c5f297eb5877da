"""One-time sign-in hand-off from the operators' admin to a tenant's admin.

Cookies are per host, so a superuser signed in on ``localhost`` is not signed in on
``demo.localhost``. The operators' admin mints a token valid for 60 seconds and one use;
the tenant host verifies it and signs the same user in there.
"""

from __future__ import annotations

import secrets

from django.core import signing
from django.core.cache import cache
from django_tenants.utils import schema_context

from cdp.context import Actor
from cdp.exceptions import PermissionDenied
from tenants.codes import AuditAction
from tenants.models import Tenant, User
from tenants.services.audit import audit_record

SALT = "tenants.jump"
MAX_AGE_SECONDS = 60


def jump_url(*, user: User, tenant: Tenant, request) -> str:
    nonce = secrets.token_urlsafe(16)
    token = signing.dumps({"u": user.pk, "t": tenant.pk, "n": nonce}, salt=SALT)
    domain = tenant.get_primary_domain()
    port = request.get_port()
    host = domain.domain if port in ("80", "443") else f"{domain.domain}:{port}"
    return f"{request.scheme}://{host}/admin/jump/?token={token}"


def jump_consume(*, token: str, tenant: Tenant, ip: str | None) -> User:
    """The superuser named by a valid, unused token minted for ``tenant``."""
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature as exc:
        raise PermissionDenied("This link is invalid or has expired.") from exc
    if data.get("t") != tenant.pk:
        raise PermissionDenied("This link was issued for another tenant.")
    # The cache is tenant-aware; the nonce key is global so a token is spent everywhere at once.
    with schema_context("public"):
        first_use = cache.add(f"jump-nonce:{data['n']}", 1, timeout=MAX_AGE_SECONDS * 2)
    if not first_use:
        raise PermissionDenied("This link has already been used.")
    user = User.objects.filter(pk=data.get("u"), is_active=True, is_superuser=True).first()
    if user is None:
        raise PermissionDenied("Only active superusers can enter a tenant's admin.")
    audit_record(actor=Actor(label=user.email, user_id=user.pk, ip=ip), action=AuditAction.TENANT_ADMIN_JUMP,
                 resource_type="tenant", resource_id=tenant.pk, tenant=tenant)
    return user
