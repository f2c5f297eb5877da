"""Sign-in sessions: recorded by ``tenants.middleware.UserSessionMiddleware``, ended on sign-out,
revoked by their owner or by an administrator, expired and pruned by a periodic task.

Who may revoke what. This is a security boundary, so it is decided here and not only by the
interfaces (which check the capability too, for a friendly 403):

- anyone may revoke their own sessions, whichever host they were opened on;
- acting on a tenant's host (``tenant`` given): a user holding the ``security`` capability there
  (admins, owners, platform superusers) or an active API key of that tenant with the ``security``
  scope may revoke the sessions of ``tenants.selectors.user_session_scope_q(tenant)``; any other
  session is reported as not found, so another tenant's ids cannot be told from missing ones;
- on the platform (``tenant=None``): superusers, staff holding ``tenants.change_usersession``, and
  system actors (tasks, commands) may revoke any session;
- everyone else gets ``PermissionDenied`` before any lookup (no probing of ids).

Revoking an ended session is a no-op that returns it unchanged (no second audit entry): a
double-click or a retried API call must not fail, and the end state is the one asked for.
"""

from __future__ import annotations

import datetime
import ipaddress
from importlib import import_module

from django.conf import settings
from django.contrib.messages.storage.cookie import MessageDecoder, MessageEncoder
from django.contrib.messages.storage.session import SessionStorage
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from cdp.context import Actor
from cdp.exceptions import ApplicationError, NotFound, PermissionDenied
from tenants.codes import AuditAction, ErrorCode
from tenants.models import ApiKey, Membership, Tenant, User, UserSession, session_idle_limit, session_key_hash
from tenants.roles import SECURITY
from tenants.selectors import user_capabilities, user_session_scope_q
from tenants.services.audit import audit_record

# last_seen_at is written at most this often per session: one UPDATE a minute instead of one per
# request, and the list pages do not need finer resolution.
TOUCH_INTERVAL = datetime.timedelta(seconds=60)
USER_AGENT_MAX_LENGTH = 255
# Ended rows are kept this long (never less than the cookie's age) as the sign-in history.
SESSION_ROW_RETENTION_DAYS = 90
# Recently opened rows are left alone by the expiry sweep: their Django session may belong to a
# request that is still running.
EXPIRE_GRACE = datetime.timedelta(minutes=5)
DB_SESSION_ENGINES = frozenset({"django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db"})
# "Every session". Not ``Q()``: Django drops an empty Q from an OR, which would silently narrow
# "own sessions OR all sessions" down to "own sessions".
ALL_SESSIONS = Q(pk__isnull=False)
# PostgreSQL's own SHA-256 (11+, no pgcrypto): how a stored key is matched to our hashes.
_PG_KEY_HASH = "encode(sha256(convert_to({column}, 'UTF8')), 'hex')"


class SessionEnded(ApplicationError):
    """The session was ended (revoked, signed out, expired); the request must be signed out."""

    code = ErrorCode.SESSION_ENDED
    http_status = 401


def _clean_ip(ip: str | None) -> str | None:
    """A valid address or None: a malformed forwarded header must not break every request."""
    try:
        return str(ipaddress.ip_address((ip or "").strip()))
    except ValueError:
        return None


def _host_tenant(tenant: Tenant | None) -> Tenant | None:
    """The tenant whose host this is, or None on the platform's own host."""
    if not isinstance(tenant, Tenant) or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
        return None
    return tenant


def user_session_start(
    *,
    user: User,
    session_key: str,
    tenant: Tenant | None,
    ip: str | None,
    user_agent: str = "",
    previous_session_id: int | None = None,
) -> UserSession:
    """Record that ``user`` holds the Django session ``session_key`` on ``tenant``'s host.

    Idempotent per key. ``previous_session_id`` is the row of the key this one replaces within a
    request (Django rotates the key on sign-in and on password change and keeps the data): the
    same person keeps their row, re-keyed; a different person ends it (signed out). If the
    previous row was ended meanwhile (revoked while the request ran), raises ``SessionEnded``:
    a rotation must never launder a revoked session into a fresh one."""
    key_hash = session_key_hash(session_key)
    now = timezone.now()
    ip = _clean_ip(ip)
    with transaction.atomic():
        existing = UserSession.objects.filter(key_hash=key_hash).first()
        if existing is not None:
            if existing.ended_at is not None or existing.user_id != user.pk:
                raise SessionEnded("This session has ended.")
            return existing
        if previous_session_id is not None:
            previous = UserSession.objects.select_for_update().filter(pk=previous_session_id).first()
            if previous is not None and previous.ended_at is not None:
                raise SessionEnded("This session has ended.")
            if previous is not None and previous.user_id == user.pk:
                previous.key_hash = key_hash
                previous.last_seen_at = now
                previous.last_ip = ip
                previous.save(update_fields=["key_hash", "last_seen_at", "last_ip"])
                return previous
            if previous is not None:
                _end_rows(UserSession.objects.filter(pk=previous.pk), reason=UserSession.EndReason.LOGOUT, now=now)
        session, _ = UserSession.objects.get_or_create(
            key_hash=key_hash,
            defaults={
                "user": user,
                "tenant": _host_tenant(tenant),
                "ip_address": ip,
                "last_ip": ip,
                "user_agent": (user_agent or "")[:USER_AGENT_MAX_LENGTH],
                "created_at": now,
                "last_seen_at": now,
            },
        )
    return session


def user_session_touch(*, session_id: int, ip: str | None) -> bool:
    """Record activity on an open session, at most once per ``TOUCH_INTERVAL``. The condition is
    in the UPDATE itself, so concurrent requests of one session write once. True if written."""
    now = timezone.now()
    updated = UserSession.objects.filter(
        pk=session_id, ended_at__isnull=True, last_seen_at__lt=now - TOUCH_INTERVAL
    ).update(last_seen_at=now, last_ip=_clean_ip(ip))
    return updated > 0


def user_session_end(*, session_key: str, reason: str = UserSession.EndReason.LOGOUT) -> bool:
    """Close the row of ``session_key`` (the user signed out). A row that already ended keeps its
    first end (a revoked session stays "revoked"). True if a row was closed."""
    if not session_key:
        return False
    return _end_rows(UserSession.objects.filter(key_hash=session_key_hash(session_key)), reason=reason) > 0


def _end_rows(queryset, *, reason: str, now=None) -> int:
    return queryset.filter(ended_at__isnull=True).update(ended_at=now or timezone.now(), end_reason=reason)


def _is_system(actor: Actor) -> bool:
    # Tasks and commands act as ``Actor.system(...)``; an unauthenticated request's actor has no
    # principal either but is labelled "anonymous" and must never get the system's reach.
    return actor.user_id is None and actor.api_key_id is None and actor.label != "anonymous"


def _admin_scope(*, actor: Actor, tenant: Tenant | None) -> Q | None:
    """Sessions ``actor`` may revoke besides their own, or None without administrative power."""
    tenant = _host_tenant(tenant)
    if actor.api_key_id is not None:
        key = ApiKey.objects.filter(pk=actor.api_key_id).first()
        if key is None or not key.is_active or tenant is None or key.tenant_id != tenant.pk:
            return None
        return user_session_scope_q(tenant=tenant) if SECURITY in key.scopes else None
    if _is_system(actor):
        return ALL_SESSIONS if tenant is None else user_session_scope_q(tenant=tenant)
    user = User.objects.filter(pk=actor.user_id, is_active=True).first() if actor.user_id else None
    if user is None:
        return None
    if tenant is None:
        if user.is_superuser or (user.is_staff and user.has_perm("tenants.change_usersession")):
            return ALL_SESSIONS
        return None
    return user_session_scope_q(tenant=tenant) if SECURITY in user_capabilities(user=user, tenant=tenant) else None


def _revoke_rows(sessions: list[UserSession], *, actor: Actor) -> None:
    """Mark open ``sessions`` (locked by the caller) revoked, delete their Django sessions, audit."""
    now = timezone.now()
    for session in sessions:
        session.ended_at = now
        session.end_reason = UserSession.EndReason.REVOKED
        session.revoked_by = actor.label[:255]
        session.save(update_fields=["ended_at", "end_reason", "revoked_by"])
        audit_record(
            actor=actor,
            action=AuditAction.USER_SESSION_REVOKE,
            resource_type="user_session",
            resource_id=session.pk,
            tenant=session.tenant,
            changes={
                "user": session.user.email,
                "opened_on": session.tenant.slug if session.tenant else "platform",
                "ip_address": session.ip_address,
                "opened_at": session.created_at,
            },
        )
    django_sessions_delete(key_hashes=[session.key_hash for session in sessions])


def django_sessions_delete(*, key_hashes: list[str]) -> int:
    """Delete the Django sessions whose keys hash to ``key_hashes``; returns how many.

    We hold no raw key, so PostgreSQL hashes every stored key: a sequential scan of
    ``django_session``, acceptable for a rare administrative action on a table pruned nightly.
    The middleware's check of the row is what enforces a revocation (and all there is for
    cookie-based engines); deleting the session as well makes the cookie worthless on its own and
    makes a request still running fail to save the session (Django's ``SessionInterrupted``)
    instead of writing it back. With ``cached_db`` the cached copy survives until it expires; the
    middleware still refuses it."""
    if not key_hashes or settings.SESSION_ENGINE not in DB_SESSION_ENGINES:
        return 0
    quote = connection.ops.quote_name
    table = f"{quote(settings.PUBLIC_SCHEMA_NAME)}.{quote(Session._meta.db_table)}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE {_PG_KEY_HASH.format(column='session_key')} = ANY(%s)", [list(key_hashes)]
        )
        return cursor.rowcount


def user_session_revoke(*, session_id: int, actor: Actor, tenant: Tenant | None = None) -> UserSession:
    """End session ``session_id`` now: the row is marked revoked (the middleware signs out the
    very next request carrying its cookie), the Django session is deleted, and one audit entry is
    written on the session's tenant. ``tenant`` is the host the actor acts on (None: platform).
    Idempotent on an ended session. Raises ``PermissionDenied`` or ``NotFound`` (see module doc)."""
    admin_scope = _admin_scope(actor=actor, tenant=tenant)
    if admin_scope is None and actor.user_id is None:
        raise PermissionDenied("You may not revoke sessions.")
    allowed = Q(user_id=actor.user_id) if actor.user_id else Q(pk__in=[])
    if admin_scope is not None:
        allowed |= admin_scope
    with transaction.atomic():
        session = (
            UserSession.objects.select_for_update(of=("self",))
            .select_related("user", "tenant")
            .filter(allowed, pk=session_id)
            .first()
        )
        if session is None:
            if admin_scope is None:
                raise PermissionDenied("You may revoke only your own sessions.")
            raise NotFound("No such session.")
        if session.ended_at is None:
            _revoke_rows([session], actor=actor)
    return session


def user_sessions_revoke_for_user(
    *, user_id: int, actor: Actor, tenant: Tenant | None = None, keep_session_id: int | None = None
) -> int:
    """Revoke every open session of ``user_id`` that ``actor`` may revoke (for a tenant admin:
    those on the tenant's host), except ``keep_session_id`` ("sign out my other sessions").
    One audit entry per session. Returns how many were revoked (0 is not an error). A user the
    actor cannot see is ``NotFound``; an actor without the power is ``PermissionDenied``."""
    if actor.user_id is not None and actor.user_id == user_id:
        allowed = Q(user_id=user_id)
    else:
        allowed = _admin_scope(actor=actor, tenant=tenant)
        if allowed is None:
            raise PermissionDenied("You may revoke only your own sessions.")
        host = _host_tenant(tenant)
        if host is None:
            visible = User.objects.filter(pk=user_id).exists()
        else:
            visible = (Membership.objects.filter(tenant=host, user_id=user_id).exists()
                       or UserSession.objects.filter(allowed, user_id=user_id).exists())
        if not visible:
            raise NotFound("No such user.")
    with transaction.atomic():
        sessions = list(
            UserSession.objects.select_for_update(of=("self",))
            .select_related("user", "tenant")
            .filter(allowed, user_id=user_id, ended_at__isnull=True)
            .exclude(pk=keep_session_id)
            .order_by("pk")
        )
        if sessions:
            _revoke_rows(sessions, actor=actor)
    return len(sessions)


def user_sessions_expire(*, now: datetime.datetime | None = None) -> int:
    """Mark ``expired`` the open rows whose Django session is gone or past its expiry (password
    changed elsewhere, session pruned, browser idle) or that were idle past the cookie's age.
    One set-based UPDATE; the hash match scans ``django_session`` once. Returns rows marked."""
    now = now or timezone.now()
    rows = connection.ops.quote_name(UserSession._meta.db_table)
    public = connection.ops.quote_name(settings.PUBLIC_SCHEMA_NAME)
    params = {"now": now, "grace": now - EXPIRE_GRACE, "idle": session_idle_limit(now),
              "expired": UserSession.EndReason.EXPIRED.value}
    gone = "FALSE"
    if settings.SESSION_ENGINE in DB_SESSION_ENGINES:
        sessions = connection.ops.quote_name(Session._meta.db_table)
        gone = (f"NOT EXISTS (SELECT 1 FROM {public}.{sessions} s WHERE s.expire_date > %(now)s "
                f"AND {_PG_KEY_HASH.format(column='s.session_key')} = us.key_hash)")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {public}.{rows} AS us SET ended_at = %(now)s, end_reason = %(expired)s "
            f"WHERE us.ended_at IS NULL AND us.created_at < %(grace)s AND (us.last_seen_at < %(idle)s OR {gone})",
            params,
        )
        return cursor.rowcount


def user_sessions_prune(*, retention_days: int = SESSION_ROW_RETENTION_DAYS,
                        now: datetime.datetime | None = None) -> int:
    """Delete rows that ended more than ``retention_days`` ago (never sooner than the cookie's
    age, so a row outlives any cookie that could still name it). Returns rows deleted."""
    now = now or timezone.now()
    keep = max(datetime.timedelta(days=retention_days), datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE))
    deleted, _ = UserSession.objects.filter(ended_at__lt=now - keep).delete()
    return deleted


def django_sessions_prune(*, now: datetime.datetime | None = None) -> int:
    """Delete expired Django sessions (the shared table); returns how many."""
    deleted, _ = Session.objects.filter(expire_date__lt=now or timezone.now()).delete()
    return deleted


def user_sessions_cleanup() -> dict[str, int]:
    """The periodic housekeeping: expire stale rows, then prune old ended ones."""
    return {"expired": user_sessions_expire(), "pruned": user_sessions_prune()}


def user_sessions_messages_scrub(*, tenant: Tenant, matches) -> int:
    """Drop the pending messages ("The customer “Ana Paz” was changed successfully.") that quote a
    person, from the sessions opened on ``tenant``'s site: messages live in the session row until
    the next page shows them, and an erased person must leave no trace there either. ``matches(text)``
    says whether a text identifies the person. Returns how many sessions changed."""
    if settings.SESSION_ENGINE not in DB_SESSION_ENGINES:
        return 0  # cookie-based sessions keep nothing on our side
    session_store = import_module(settings.SESSION_ENGINE).SessionStore  # cached_db: its cache follows
    quote = connection.ops.quote_name
    public = quote(settings.PUBLIC_SCHEMA_NAME)
    with connection.cursor() as cursor:
        # Only the hash of a session key is ours to keep; Django's table has the key itself.
        cursor.execute(f"SELECT s.session_key FROM {public}.{quote(Session._meta.db_table)} s "
                       f"JOIN {public}.{quote(UserSession._meta.db_table)} u "
                       f"ON u.key_hash = {_PG_KEY_HASH.format(column='s.session_key')} "
                       "WHERE u.tenant_id = %s AND s.expire_date > %s", [tenant.pk, timezone.now()])
        keys = [row[0] for row in cursor.fetchall()]
    changed = 0
    for key in keys:
        store = session_store(session_key=key)
        encoded = store.load().get(SessionStorage.session_key)
        if not encoded:
            continue
        pending = MessageDecoder().decode(encoded)
        kept = [message for message in pending if not matches(str(message.message))]
        if len(kept) != len(pending):
            if kept:
                store[SessionStorage.session_key] = MessageEncoder().encode(kept)
            else:
                del store[SessionStorage.session_key]
            store.save()
            changed += 1
    return changed
