"""Reads about tenants, memberships and usage."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django_tenants.utils import tenant_context

from cdp import registry
from tenants.models import ApiKey, AuditLog, Invitation, Membership, Tenant, User, UserSession
from tenants.roles import capabilities_for_role, tenant_privacy_grants


def membership_role(*, user: User, tenant: Tenant) -> str | None:
    """The user's role in ``tenant``, or None when not a member."""
    if not user.is_authenticated or tenant.is_public:
        return None
    return Membership.objects.filter(user=user, tenant=tenant).values_list("role", flat=True).first()


def user_capabilities(*, user: User, tenant: Tenant) -> frozenset[str]:
    """Superusers (platform operators) hold every capability; others get their role's set."""
    if user.is_authenticated and user.is_superuser and user.is_active:
        return capabilities_for_role("owner")
    return capabilities_for_role(membership_role(user=user, tenant=tenant), grants=tenant_privacy_grants(tenant))


def invitations_open(*, tenant: Tenant) -> QuerySet[Invitation]:
    """Pending (not used, not revoked, not expired) invitations of ``tenant``, newest first."""
    return (Invitation.objects.filter(tenant=tenant, accepted_at__isnull=True, revoked_at__isnull=True,
                                      expires_at__gt=timezone.now()).order_by("-created_at", "-id"))


def members_of(*, tenant: Tenant) -> QuerySet[Membership]:
    """The tenant's memberships with their users (never anyone outside the tenant)."""
    return Membership.objects.filter(tenant=tenant).select_related("user").order_by("user__email", "id")


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


# --- Sign-in sessions -----------------------------------------------------------------------------


def user_session_lookup(*, key_hash: str) -> dict | None:
    """The fields the session middleware needs for one key, in one query on the unique index."""
    return (UserSession.objects.filter(key_hash=key_hash)
            .values("id", "user_id", "ended_at", "last_seen_at").first())


def user_session_scope_q(*, tenant: Tenant) -> Q:
    """The sessions ``tenant``'s admins may see and revoke.

    Only sessions opened on the tenant's own host (a member's sessions on another tenant's host
    or on the platform host are none of this tenant's business), and never those of platform
    operators (superusers entering through the operators' admin) unless they are members: a
    tenant admin must not be able to watch or lock out the people who run the platform."""
    member = Membership.objects.filter(tenant=tenant, user_id=OuterRef("user_id"))
    return Q(tenant=tenant) & (Q(user__is_superuser=False) | Exists(member))


def user_sessions_for_tenant(*, tenant: Tenant) -> QuerySet[UserSession]:
    """Sessions visible to ``tenant``'s admins, newest activity first, with their users."""
    return (UserSession.objects.filter(user_session_scope_q(tenant=tenant))
            .select_related("user").order_by("-last_seen_at", "-id"))


def user_sessions_for_user(*, user: User) -> QuerySet[UserSession]:
    """Every session of ``user`` on every host (people may see all of their own)."""
    return UserSession.objects.filter(user=user).select_related("tenant").order_by("-last_seen_at", "-id")


def user_sessions_all() -> QuerySet[UserSession]:
    """Every session (operators)."""
    return UserSession.objects.select_related("user", "tenant").order_by("-last_seen_at", "-id")
