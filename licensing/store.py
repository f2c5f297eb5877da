"""Redis keys licensing keeps outside the database: snapshots, rate windows, collision windows,
the validation log buffer and monthly API counters.

Licensing lives in the public schema and its keys name licenses or tenants by id, so they do not
go through the tenant-aware cache key function; they share one ``cdp:lic:`` namespace instead.
"""

from __future__ import annotations

from django_redis import get_redis_connection

NS = "cdp:lic"
LOG_BUFFER = f"{NS}:vlog"
LOG_FLUSH_FLAG = f"{NS}:vlog:flush"


def client():
    """The raw redis-py client behind the default cache (one pooled connection per process)."""
    return get_redis_connection("default")


def snapshot_key(key_hash: str) -> str:
    return f"{NS}:snap:{key_hash}"


def rate_key(kind: str, ident: str, window: int) -> str:
    return f"{NS}:rate:{kind}:{ident}:{window}"


def collision_set_key(license_id: int, bucket: int, kind: str) -> str:
    return f"{NS}:col:{license_id}:{bucket}:{kind}"


def collision_done_key(license_id: int, bucket: int, kind: str) -> str:
    return f"{NS}:col:{license_id}:{bucket}:{kind}:done"


def api_calls_key(tenant_id: int, period: str) -> str:
    return f"{NS}:api:{tenant_id}:{period}"


def tenant_limits_key(tenant_id: int) -> str:
    return f"{NS}:tlimits:{tenant_id}"


def clear_all() -> None:
    """Drop every licensing key (tests; never needed in production)."""
    redis = client()
    for key in redis.scan_iter(match=f"{NS}:*", count=1000):
        redis.delete(key)
