"""Per-tenant slots for outbound work, held in Redis, so one tenant's slow hosts cannot fill the
Celery worker pool that every tenant shares.

A slot kind (``webhooks``, ``fetches``) allows at most ``limit`` holders per tenant at once. A
holder is a member of a sorted set scored by when its hold expires: a worker killed while holding
a slot leaves an entry that stops counting at ``ttl`` (set it to the task's hard time limit), so a
crash never locks a tenant out. Acquire and expire-the-dead run in one Lua script, on Redis's
clock (workers' clocks may differ).

Syncs are limited differently, by their database lease (``integrations.services.sync``): a sync
already holds a lease row that a heartbeat renews, so counting live leases needs no second record.
"""

from __future__ import annotations

import contextlib
import random
import uuid

from django.db import connection
from django_redis import get_redis_connection

NS = "cdp:outbound"

_ACQUIRE = """
redis.replicate_commands()
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], t + tonumber(ARGV[2]), ARGV[3])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 60)
return 1
"""
_scripts: dict = {}


def _redis():
    return get_redis_connection("default")


def slot_key(kind: str, schema: str | None = None) -> str:
    return f"{NS}:{schema or connection.schema_name}:{kind}"


def slot_try_acquire(kind: str, *, limit: int, ttl: float, schema: str | None = None) -> str | None:
    """A holder token when the current tenant has fewer than ``limit`` live holders of ``kind``,
    else None. Release with ``slot_release``; an unreleased hold lapses after ``ttl`` seconds."""
    redis = _redis()
    script = _scripts.get(id(redis))
    if script is None:
        script = _scripts[id(redis)] = redis.register_script(_ACQUIRE)
    token = uuid.uuid4().hex
    acquired = script(keys=[slot_key(kind, schema)], args=[int(limit), float(ttl), token])
    return token if acquired else None


def slot_release(kind: str, token: str, *, schema: str | None = None) -> None:
    _redis().zrem(slot_key(kind, schema), token)


def slot_holders(kind: str, *, schema: str | None = None) -> int:
    """Live holders of ``kind``'s slots (expired ones are dropped first): for diagnostics and the
    fault tests, which check that a killed worker's slot is given back."""
    redis = _redis()
    key = slot_key(kind, schema)
    seconds, micros = redis.time()
    redis.zremrangebyscore(key, "-inf", seconds + micros / 1_000_000)
    return int(redis.zcard(key))


@contextlib.contextmanager
def tenant_slot(kind: str, *, limit: int, ttl: float):
    """``with tenant_slot("fetches", limit=1, ttl=600) as held:`` (``held`` is False when the
    tenant is at its limit: re-queue the task with ``busy_countdown``)."""
    schema = connection.schema_name
    token = slot_try_acquire(kind, limit=limit, ttl=ttl, schema=schema)
    try:
        yield token is not None
    finally:
        if token is not None:
            slot_release(kind, token, schema=schema)


def busy_countdown(deferrals: int, *, base: float = 5.0, cap: float = 300.0) -> float:
    """Seconds before a task that found its tenant at the limit tries again: doubling with each
    deferral, capped, with jitter so deferred tasks do not come back in step."""
    return min(cap, base * 2 ** min(deferrals, 10)) * random.uniform(0.75, 1.25)


# --- "a drain is queued" flags and the index of tenants with work due ----------------------------------

def flag_set_once(name: str, *, ttl: int, schema: str | None = None) -> bool:
    """True for the first caller until ``flag_clear`` (or ``ttl`` seconds): one queued task per
    tenant, however many events ask for one."""
    return bool(_redis().set(slot_key(f"{name}:queued", schema), "1", nx=True, ex=int(ttl)))


def flag_clear(name: str, *, schema: str | None = None) -> None:
    _redis().delete(slot_key(f"{name}:queued", schema))


def due_key(name: str) -> str:
    return f"{NS}:due:{name}"


def due_mark(name: str, *, when: float, schema: str | None = None, earlier_only: bool = True) -> None:
    """Record that the tenant has ``name`` work due at ``when`` (unix seconds), for the sweep.
    ``earlier_only`` keeps an earlier mark (several writers may race)."""
    mapping = {schema or connection.schema_name: when}
    if earlier_only:
        _redis().zadd(due_key(name), mapping, lt=True)
    else:
        _redis().zadd(due_key(name), mapping)


def due_unmark(name: str, *, schema: str | None = None) -> None:
    _redis().zrem(due_key(name), schema or connection.schema_name)


def due_schemas(name: str, *, now: float) -> list[str]:
    """Schemas with ``name`` work due by ``now``."""
    return [member.decode() for member in _redis().zrangebyscore(due_key(name), "-inf", now)]
