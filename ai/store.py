"""Redis keys of the key pool: requests and tokens per key per minute (the RPM/TPM limits).

The pool is the platform's, shared by every tenant, so these keys do not go through the
tenant-aware cache key function; they live in one ``cdp:ai:`` namespace."""

from __future__ import annotations

import time

from django_redis import get_redis_connection

NS = "cdp:ai"
WINDOW = 60


def client():
    return get_redis_connection("default")


def _minute() -> int:
    return int(time.time() // WINDOW)


def _key(kind: str, key_id: int) -> str:
    return f"{NS}:{kind}:{key_id}:{_minute()}"


def request_take(key_id: int, limit: int | None) -> bool:
    """Count one request against the key's current minute; False (and nothing counted) when the
    key already made ``limit`` requests in it."""
    if not limit:
        return True
    redis, name = client(), _key("rpm", key_id)
    pipe = redis.pipeline()
    pipe.incr(name)
    pipe.expire(name, WINDOW * 2)
    count = pipe.execute()[0]
    if count > limit:
        redis.decr(name)
        return False
    return True


def tokens_available(key_id: int, limit: int | None) -> bool:
    """Whether the key used fewer than ``limit`` tokens in the current minute."""
    if not limit:
        return True
    return int(client().get(_key("tpm", key_id)) or 0) < limit


def tokens_add(key_id: int, tokens: int) -> None:
    if tokens <= 0:
        return
    name = _key("tpm", key_id)
    pipe = client().pipeline()
    pipe.incrby(name, tokens)
    pipe.expire(name, WINDOW * 2)
    pipe.execute()


def clear_all() -> None:
    """Drop every key of the pool's counters (tests)."""
    redis = client()
    for key in redis.scan_iter(match=f"{NS}:*", count=1000):
        redis.delete(key)
