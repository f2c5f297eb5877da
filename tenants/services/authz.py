"""What an actor may do on a tenant, worked out by the services themselves.

Interfaces check a capability before they call a service (``TenantCapability``, ``portal_page``,
the tenant admin's gate), but a service that grants power (keys, roles, invitations) must not
trust them to have checked the right thing: it derives the actor's authority from the actor
itself (the key's scopes, the member's role, the operator's flags) and refuses anything above it.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdp.context import Actor
from tenants.models import ApiKey, Membership, Role, Tenant, User
from tenants.roles import (
    CAPABILITIES,
    PLATFORM_RANK,
    ROLE_RANK,
    capabilities_for_role,
    role_rank,
    tenant_privacy_grants,
)


@dataclass(frozen=True)
class Authority:
    """An actor's power on one tenant: the capabilities it holds and its rank in the hierarchy."""

    capabilities: frozenset[str]
    rank: int

    @property
    def is_platform(self) -> bool:
        return self.rank >= PLATFORM_RANK

    def outranks(self, role: str | None) -> bool:
        """May act on (grant, change, remove) the role ``role``: owners and operators may act on
        every role (the last-owner rule still applies); everyone else only below their own."""
        return self.is_platform or self.rank >= ROLE_RANK[Role.OWNER] or role_rank(role) < self.rank



NOBODY = Authority(capabilities=frozenset(), rank=0)
PLATFORM = Authority(capabilities=frozenset(CAPABILITIES), rank=PLATFORM_RANK)


def actor_is_system(actor: Actor) -> bool:
    """Tasks and commands act as ``Actor.system(...)``; an unauthenticated request's actor has no
    principal either but is labelled "anonymous" and must never get the system's reach."""
    return actor.user_id is None and actor.api_key_id is None and actor.label != "anonymous"


def actor_authority(*, actor: Actor, tenant: Tenant | None, platform_perm: str | None = None) -> Authority:
    """The capabilities and rank of ``actor`` on ``tenant``.

    - an API key: its scopes, on its own tenant only (an inactive key or another tenant's: none).
      A key is never an owner: as far as roles go it ranks as an admin;
    - the system (commands, tasks): everything;
    - a superuser, or a staff member holding ``platform_perm`` (the operators' admin gates its
      pages with Django's model permissions): everything;
    - a member: their role's capabilities and rank; anyone else: nothing."""
    if actor.api_key_id is not None:
        key = ApiKey.objects.filter(pk=actor.api_key_id).first()
        if key is None or not key.is_active or tenant is None or key.tenant_id != tenant.pk:
            return NOBODY
        return Authority(capabilities=frozenset(key.scopes) & frozenset(CAPABILITIES), rank=ROLE_RANK[Role.ADMIN])
    if actor_is_system(actor):
        return PLATFORM
    user = User.objects.filter(pk=actor.user_id, is_active=True).first() if actor.user_id else None
    if user is None:
        return NOBODY
    if user.is_superuser or (platform_perm and user.is_staff and user.has_perm(platform_perm)):
        return PLATFORM
    if tenant is None or tenant.is_public:
        return NOBODY
    role = Membership.objects.filter(user=user, tenant=tenant).values_list("role", flat=True).first()
    # The owners' privacy grants as stored now (a long-lived tenant instance, e.g. a worker's or a
    # command's, may predate a change of them).
    current = Tenant.objects.filter(pk=tenant.pk).only("settings", "schema_name").first() or tenant
    return Authority(capabilities=capabilities_for_role(role, grants=tenant_privacy_grants(current)),
                     rank=role_rank(role))
