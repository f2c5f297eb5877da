"""Reads about tenants, memberships and usage."""

from __future__ import annotations

import datetime
import hashlib
import time

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import tenant_context

from cdp import registry
from tenants.models import (
    ApiKey,
    FeatureFlag,
    Invitation,
    Membership,
    RecoveryCodeDevice,
    SystemConfig,
    SystemEvent,
    Tenant,
    User,
    UserSession,
)
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
    return Invitation.objects.filter(tenant=tenant).pending().order_by("-created_at", "-id")


def api_keys_of(*, tenant: Tenant) -> QuerySet[ApiKey]:
    """``tenant``'s API keys (revoked ones too), newest first."""
    return ApiKey.objects.filter(tenant=tenant).order_by("-created_at", "-id")


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


def system_events_daily(*, events: QuerySet[SystemEvent], days: int = 14) -> list[dict]:
    """Counts per day (UTC) and kind of ``events`` over the last ``days`` days, oldest first, every
    day present (zeros included): ``[{"day": date, "counts": {kind: n}, "total": n}]``."""
    today = timezone.now().date()
    first = today - datetime.timedelta(days=days - 1)
    rows = (events.order_by().filter(created_at__date__gte=first).annotate(day=TruncDate("created_at", tzinfo=datetime.UTC))
            .values("day", "kind").annotate(n=Count("id")))
    by_day: dict[datetime.date, dict[str, int]] = {first + datetime.timedelta(days=i): {} for i in range(days)}
    for row in rows:
        if row["day"] in by_day:
            by_day[row["day"]][row["kind"]] = row["n"]
    return [{"day": day, "counts": counts, "total": sum(counts.values())} for day, counts in by_day.items()]


def system_events_with_occurrences(*, events: QuerySet[SystemEvent], days: int = 30) -> QuerySet[SystemEvent]:
    """``events`` with ``occurrences``: how many events of the same fingerprint (the same cause of
    error) happened in the last ``days`` days (0 for events without one)."""
    since = timezone.now() - datetime.timedelta(days=days)
    same = (SystemEvent.objects.filter(fingerprint=OuterRef("fingerprint"), created_at__gte=since)
            .exclude(fingerprint="").order_by().values("fingerprint").annotate(n=Count("id")).values("n"))
    return events.annotate(occurrences=Coalesce(Subquery(same), 0))


def rollout_bucket(flag_key: str, tenant_slug: str) -> int:
    """A stable 0-99 bucket per (flag, tenant), so a 10% rollout keeps the same 10% of tenants."""
    digest = hashlib.sha256(f"{flag_key}:{tenant_slug}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100


def feature_flag_is_enabled(key: str, *, tenant: Tenant | None = None) -> bool:
    """Whether ``key`` is on for ``tenant``: master switch, then explicit tenants, then rollout."""
    flag = FeatureFlag.objects.filter(key=key).first()
    if flag is None or not flag.enabled:
        return False
    if tenant is None:
        return flag.rollout_percentage >= 100
    if flag.tenants.filter(pk=tenant.pk).exists():
        return True
    return rollout_bucket(flag.key, tenant.slug) < flag.rollout_percentage


def invitation_existing_user(*, invitation: Invitation) -> User | None:
    """The platform account the invited address already has, if any (active or not)."""
    return User.objects.filter(email__iexact=invitation.email).first()


def tenant_requires_two_factor(tenant) -> bool:
    """Whether the tenant's owners or admins turned on two-factor sign-in for every member."""
    return isinstance(tenant, Tenant) and not tenant.is_public and bool(
        (tenant.settings or {}).get("require_two_factor", False))


def two_factor_devices(*, user: User) -> list:
    """The user's confirmed second factors: TOTP apps first, then the recovery codes."""
    return [*TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk"),
            *RecoveryCodeDevice.objects.filter(user=user, confirmed=True).order_by("pk")]


def two_factor_enrolled(*, user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def two_factor_required(*, user: User, tenant) -> bool:
    """Who must pass the second step before anything else on this host:

    - operators (staff, superusers) always, on every host: they can reach every tenant;
    - members of a tenant that requires it, on its host;
    - anyone who enrolled: having a second factor that can be skipped protects nothing."""
    if not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    return tenant_requires_two_factor(tenant) or two_factor_enrolled(user=user)


# Settings that act on every request (tenants/services/system_config.py), read once per few
# seconds per process: a database row per request for a switch that changes a few times a year
# would be waste, and a change reaches every process within PLATFORM_SETTINGS_TTL seconds (this
# process at once: the services forget the copy when their transaction commits).
PLATFORM_SETTINGS_TTL = 5.0
PLATFORM_SETTINGS_KEYS = ("maintenance", "announcement")
_platform_settings: dict = {"at": None, "values": {}}


def platform_settings_forget() -> None:
    _platform_settings["at"] = None


def platform_settings() -> dict:
    """``{"maintenance": value, "announcement": value}`` of the settings that exist."""
    now = time.monotonic()
    if _platform_settings["at"] is None or now - _platform_settings["at"] > PLATFORM_SETTINGS_TTL:
        _platform_settings["values"] = dict(
            SystemConfig.objects.filter(key__in=PLATFORM_SETTINGS_KEYS).values_list("key", "value"))
        _platform_settings["at"] = now
    return _platform_settings["values"]


def _in_language(message, language: str) -> str:
    if isinstance(message, dict):
        base = (language or "").split("-")[0]
        return str(message.get(language) or message.get(base) or message.get("en") or next(iter(message.values()), ""))
    return str(message or "")


def maintenance_state(*, language: str = "en") -> dict | None:
    """``{"message", "retry_after"}`` (seconds) while maintenance mode is on; None otherwise."""
    value = platform_settings().get("maintenance")
    if not isinstance(value, dict) or value.get("enabled") is not True:
        return None
    minutes = value.get("retry_after_minutes", 30)
    return {"message": _in_language(value.get("message", ""), language),
            "retry_after": int(minutes) * 60 if isinstance(minutes, int) else 1800}


def announcement_text(*, language: str = "en", now: datetime.datetime | None = None) -> str:
    """The operators' announcement in ``language`` (else English, else any), "" when none or past."""
    value = platform_settings().get("announcement")
    if not isinstance(value, dict):
        return ""
    until = value.get("until")
    if isinstance(until, str):
        try:
            ends = datetime.datetime.fromisoformat(until.replace("Z", "+00:00"))
        except ValueError:
            ends = None
        if ends is not None and ends.tzinfo is not None and (now or timezone.now()) >= ends:
            return ""
    return _in_language(value.get("message", ""), language).strip()
