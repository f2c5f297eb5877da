from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cdp.context import Actor
from cdp.exceptions import ApplicationError, NotFound
from tenants.codes import AuditAction
from tenants.models import ApiKey, Tenant
from tenants.roles import CAPABILITIES, DEFAULT_KEY_SCOPES
from tenants.services.audit import audit_record
from tenants.services.authz import actor_authority

KEY_PREFIX = "cdp"
PREFIX_LENGTH = 10
LAST_USED_GRANULARITY = datetime.timedelta(seconds=60)


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    key: str  # the full secret: shown once, never stored


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_create(
    *,
    tenant: Tenant,
    name: str,
    scopes: list[str] | tuple[str, ...] | None = None,
    actor: Actor,
    capabilities: Iterable[str] | None = None,
    expires_at: datetime.datetime | None = None,
) -> IssuedKey:
    """Issue a key for ``tenant``. The returned ``key`` is the only time the secret exists in clear.

    Nobody grants what they do not hold: every scope must be among ``capabilities`` (what the
    interface saw the caller holding: the key's scopes, the member's role) and among what the
    actor holds on ``tenant`` by itself (``actor_authority``: a key's scopes, a member's role,
    everything for operators and the system). Without ``capabilities`` the actor's own authority
    is the ceiling. A scope above it is a field error on ``scopes``, and nothing is written.

    Keys have 256 bits of entropy, so a plain SHA-256 is a safe and fast way to store them
    (a slow password hash would only slow down every API request)."""
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["A name is required."]
    scopes = list(dict.fromkeys(scopes or DEFAULT_KEY_SCOPES))
    unknown = [scope for scope in scopes if scope not in CAPABILITIES]
    if unknown:
        errors["scopes"] = [f"Unknown scope(s): {', '.join(unknown)}. Valid: {', '.join(CAPABILITIES)}."]
    if tenant.is_public:
        errors["tenant"] = ["API keys belong to a tenant, not to the public schema."]
    elif not unknown:
        ceiling = actor_authority(actor=actor, tenant=tenant, platform_perm="tenants.add_apikey").capabilities
        if capabilities is not None:
            ceiling &= frozenset(capabilities)
        above = [scope for scope in scopes if scope not in ceiling]
        if above:
            errors["scopes"] = [_("You cannot grant scope(s) you do not hold: %(scopes)s.")
                                % {"scopes": ", ".join(above)}]
    if errors:
        raise ApplicationError("The API key could not be created.", fields=errors)

    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        api_key = ApiKey.objects.create(
            tenant=tenant,
            name=name,
            prefix=prefix,
            hashed_key=_hash(key),
            scopes=scopes,
            created_by_id=actor.user_id,
            expires_at=expires_at,
        )
        audit_record(
            actor=actor,
            action=AuditAction.API_KEY_CREATE,
            resource_type="api_key",
            resource_id=api_key.pk,
            tenant=tenant,
            changes={"name": name, "prefix": prefix, "scopes": scopes},
        )
    return IssuedKey(api_key=api_key, key=key)


def api_key_revoke(*, api_key_id: int, tenant: Tenant, actor: Actor) -> ApiKey:
    """Revoke a key of ``tenant``; idempotent. A key of another tenant is reported as not found."""
    with transaction.atomic():
        api_key = ApiKey.objects.select_for_update().filter(pk=api_key_id, tenant=tenant).first()
        if api_key is None:
            raise NotFound("No such API key.")
        if api_key.revoked_at is None:
            api_key.revoked_at = timezone.now()
            api_key.save(update_fields=["revoked_at", "updated_at"])
            audit_record(
                actor=actor,
                action=AuditAction.API_KEY_REVOKE,
                resource_type="api_key",
                resource_id=api_key.pk,
                tenant=tenant,
                changes={"prefix": api_key.prefix},
            )
    return api_key


def api_key_authenticate(key: str) -> ApiKey | None:
    """The active key matching ``key``, or None. Touches ``last_used_at`` at most once a minute."""
    parts = (key or "").strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != PREFIX_LENGTH:
        return None
    api_key = ApiKey.objects.select_related("tenant").filter(prefix=parts[1]).first()
    if api_key is None or not hmac.compare_digest(api_key.hashed_key, _hash(key.strip())):
        return None
    if not api_key.is_active:
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_GRANULARITY:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key
