"""Redis keys of the key pool: requests and tokens per key per minute (the RPM/TPM limits).

The pool is the platform's, shared by every tenant, so these keys do not go through the
tenant-aware cache key function; they live in one ``cdp:ai:`` namespace."""

from __future__ import annotations

import time
import uuid

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


# --- the routing table's version and the keys' rests ------------------------------------------------------------

CATALOG_VERSION = f"{NS}:catalog"


def catalog_version() -> str:
    """A token that changes whenever the catalog or the pool changes (``catalog_bump``); processes
    reload their routing table when it differs from the one they loaded with."""
    redis = client()
    value = redis.get(CATALOG_VERSION)
    if value is None:
        redis.set(CATALOG_VERSION, uuid.uuid4().hex, nx=True)
        value = redis.get(CATALOG_VERSION)
    return value.decode() if isinstance(value, bytes) else str(value)


def version_and_rests(key_ids: list[int]) -> tuple[str, set[int]]:
    """The catalog's version and which of ``key_ids`` rest, in one round trip."""
    values = client().mget([CATALOG_VERSION, *(f"{NS}:rest:{key_id}" for key_id in key_ids)])
    version = values[0]
    if version is None:
        return catalog_version(), set()  # first use (or Redis emptied): every process reloads
    rests = {key_id for key_id, value in zip(key_ids, values[1:], strict=True) if value is not None}
    return version.decode() if isinstance(version, bytes) else str(version), rests


def catalog_bump() -> None:
    client().set(CATALOG_VERSION, uuid.uuid4().hex)


def rest_set(key_id: int, seconds: float, reason: str) -> None:
    if seconds > 0:
        client().set(f"{NS}:rest:{key_id}", reason, px=max(1, int(seconds * 1000)))


def rest_clear(key_id: int) -> None:
    client().delete(f"{NS}:rest:{key_id}", f"{NS}:failing:{key_id}")


def resting(key_ids: list[int]) -> set[int]:
    """Which of ``key_ids`` rest now (one round trip)."""
    if not key_ids:
        return set()
    values = client().mget([f"{NS}:rest:{key_id}" for key_id in key_ids])
    return {key_id for key_id, value in zip(key_ids, values, strict=True) if value is not None}


def turn(provider_id: int) -> int:
    """A counter per provider: its keys take turns."""
    return int(client().incr(f"{NS}:turn:{provider_id}"))


def failure_note(key_id: int) -> None:
    client().set(f"{NS}:failing:{key_id}", 1, ex=24 * 3600)


SUCCESS_WRITE_EVERY = 30  # seconds: a healthy key's row is written at most this often


def success_note(key_id: int) -> tuple[bool, int]:
    """Count a success. ``(write, requests)``: whether the key's row is due a write now (it was
    failing, or not written for SUCCESS_WRITE_EVERY seconds) and how many requests to add to it."""
    redis = client()
    pipe = redis.pipeline()
    pipe.getdel(f"{NS}:failing:{key_id}")
    pipe.set(f"{NS}:touch:{key_id}", 1, nx=True, ex=SUCCESS_WRITE_EVERY)
    pipe.incr(f"{NS}:req:{key_id}")
    was_failing, due, _ = pipe.execute()
    if not (was_failing or due):
        return False, 0
    return True, int(redis.getdel(f"{NS}:req:{key_id}") or 0)
