"""Reads from a streaming replica (``DATABASE_REPLICA_URL``), only where they are safe.

What goes to the replica: reads of the models of ``CDP_REPLICA_APPS`` (analytics, customers)
made while ``replica_reads()`` is active, which ``ReplicaMiddleware`` does for GET/HEAD requests
to ``CDP_REPLICA_PATHS`` (the analytics and customer pages and API: long scans). Everything else
(sessions, users, tenants, licensing, every write, every task) stays on the primary.

When the primary answers instead:
- the replica is down (a connection error also keeps it out for ``CDP_REPLICA_RETRY_SECONDS``),
  is not in recovery (promoted), or its WAL receiver is not streaming;
- it lags: it has WAL received but not replayed for more than ``CDP_REPLICA_MAX_LAG_SECONDS``;
- read-your-own-writes: after a client's POST/PUT/PATCH/DELETE the primary's WAL position is
  remembered for that client (its session, API key or address) for ``CDP_REPLICA_PIN_SECONDS``,
  and its reads go to the replica only once the replica has replayed past that position. So a
  page shown right after a change always shows the change.

The response says which one answered in ``X-CDP-Read-From`` (replica or primary).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connections

logger = logging.getLogger(__name__)

REPLICA = "replica"
_reading: contextvars.ContextVar[bool] = contextvars.ContextVar("cdp_replica_reading", default=False)
_down_until = 0.0


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def _lsn(value: str | None) -> int:
    """'16/B374D848' -> an integer that orders like the WAL position."""
    if not value:
        return 0
    high, low = value.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def replica_state() -> dict:
    """What the replica says about itself: in recovery, streaming, replayed position, lag."""
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("""
            SELECT pg_is_in_recovery(),
                   pg_last_wal_replay_lsn()::text,
                   EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming'),
                   CASE WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
                        THEN 0
                        ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END
        """)
        in_recovery, replayed, streaming, lag = cursor.fetchone()
    return {"in_recovery": in_recovery, "replayed": replayed, "streaming": streaming, "lag": float(lag)}


def replica_fresh(*, min_lsn: str | None = None) -> bool:
    """True when the replica may answer a read that must see at least ``min_lsn``."""
    global _down_until
    if not replica_configured() or time.monotonic() < _down_until:
        return False
    try:
        state = replica_state()
    except DatabaseError as exc:
        _down_until = time.monotonic() + float(settings.CDP_REPLICA_RETRY_SECONDS)
        logger.warning("replica unavailable, reading from the primary: %s", exc.__class__.__name__)
        with contextlib.suppress(Exception):
            connections[REPLICA].close()
        return False
    if not state["in_recovery"] or not state["streaming"]:
        return False
    if state["lag"] > float(settings.CDP_REPLICA_MAX_LAG_SECONDS):
        return False
    return _lsn(state["replayed"]) >= _lsn(min_lsn)


@contextlib.contextmanager
def replica_reads(*, min_lsn: str | None = None):
    """Inside: reads of the replica apps go to the replica if it is fresh enough (yields whether)."""
    usable = replica_fresh(min_lsn=min_lsn)
    token = _reading.set(usable)
    try:
        yield usable
    finally:
        _reading.reset(token)


def primary_lsn() -> str:
    """Where the primary's WAL ends, this client's last commit included. The insert position, not
    ``pg_current_wal_lsn()`` (the write position): with ``synchronous_commit=off`` a commit record
    is written out by the WAL writer up to 200 ms later, and a pin taken before that would let the
    replica answer without the write (the tests run that way; a deployment may too)."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn()::text")
        return cursor.fetchone()[0]


class ReplicaRouter:
    """Sends reads to the replica inside ``replica_reads()``; never migrates the replica."""

    def db_for_read(self, model, **hints):
        if _reading.get() and model._meta.app_label in settings.CDP_REPLICA_APPS:
            primary, replica = connections["default"], connections[REPLICA]
            if replica.schema_name != primary.schema_name:  # the replica reads the same tenant
                replica.set_tenant(primary.tenant)
            return REPLICA
        return None

    def db_for_write(self, model, **hints):
        return None

    def allow_relation(self, obj1, obj2, **hints):
        if {obj1._state.db, obj2._state.db} <= {"default", REPLICA}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return False if db == REPLICA else None


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _reader_key(request) -> str:
    """Who made a write: the signed-in session, else the API key, else the client address."""
    session = getattr(request, "session", None)
    identity = (session.session_key if session is not None else None) or request.META.get("HTTP_AUTHORIZATION") \
        or request.META.get("REMOTE_ADDR", "")
    return "cdp:ops:ryow:" + hashlib.sha256(identity.encode()).hexdigest()[:32]


class ReplicaMiddleware:
    """After authentication (it keys read-your-own-writes on the session or API key)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not replica_configured():
            return self.get_response(request)
        if request.method in SAFE_METHODS:
            if not any(request.path.startswith(prefix) for prefix in settings.CDP_REPLICA_PATHS):
                return self.get_response(request)
            with replica_reads(min_lsn=cache.get(_reader_key(request))) as on_replica:
                response = self.get_response(request)
            response["X-CDP-Read-From"] = "replica" if on_replica else "primary"
            return response
        response = self.get_response(request)
        try:
            cache.set(_reader_key(request), primary_lsn(), timeout=int(settings.CDP_REPLICA_PIN_SECONDS))
        except Exception:  # the pin is an optimization of freshness, never a reason to fail a write
            logger.exception("could not remember the write position")
        return response
