"""License validation: the hot path behind ``POST /api/v1/licenses/validate``.

A request costs two Redis round trips when the license is cached (rate windows + snapshot, then
collision windows + log buffer) and no database query. The database is touched only to load a
snapshot (one query for the license, plan and tenant, one for its machines), to bind a new
machine, to record a collision, and to write the validation log in batches.
"""

from __future__ import annotations

import datetime
import json
import math
import secrets
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from cdp.context import Actor
from cdp.ops import metrics as ops_metrics
from licensing import conf, keys, store
from licensing.codes import AuditAction, ValidationCode
from licensing.models import Collision, License, Machine, Plan, ValidationLog
from licensing.services.licenses import license_suspend, machine_bind
from tenants.models import Tenant
from tenants.services import audit_record

DETAILS = {
    ValidationCode.VALID: "The license is valid.",
    ValidationCode.NOT_FOUND: "No license matches this key.",
    ValidationCode.SUSPENDED: "The license is suspended.",
    ValidationCode.EXPIRED: "The license has expired.",
    ValidationCode.CANCELLED: "The license was cancelled.",
    ValidationCode.TOO_MANY_MACHINES: "Every machine seat of this license is taken.",
    ValidationCode.FINGERPRINT_SCOPE_REQUIRED: "This license must be validated with a machine fingerprint.",
    ValidationCode.BANNED: "This machine is banned from using the license.",
    ValidationCode.RATE_LIMITED: "Too many validation requests; retry later.",
}


@dataclass
class ValidationResult:
    code: ValidationCode
    http_status: int = 200
    detail: str = ""
    data: dict = field(default_factory=dict)
    retry_after: int | None = None

    @property
    def valid(self) -> bool:
        return self.code == ValidationCode.VALID


# --- Snapshots -------------------------------------------------------------------------------------


def _snapshot_load(key_hash: str) -> dict | None:
    """Everything validation needs about one license, in one query plus its machines."""
    license = (License.objects.select_related("plan", "tenant")
               .filter(key_hash=key_hash).first())
    if license is None:
        return None
    plan: Plan = license.plan
    return {
        "id": license.pk,
        "tenant_id": license.tenant_id,
        "tenant_active": license.tenant.status == Tenant.Status.ACTIVE,
        "prefix": license.key_prefix,
        "status": license.status,
        "expires_at": license.expires_at.isoformat() if license.expires_at else None,
        "expires_ts": license.expires_at.timestamp() if license.expires_at else None,
        "plan": plan.code,
        "max_machines": license.max_machines,
        "require_fingerprint": plan.require_fingerprint,
        "entitlements": {"features": license.features(), "limits": license.limits()},
        "machines": dict(Machine.objects.filter(license=license).values_list("fingerprint", "status")),
        "collision": {
            "window_minutes": plan.collision_window_minutes,
            "ip_allowance": plan.collision_ip_allowance,
            "fingerprint_allowance": license.max_machines + plan.collision_fingerprint_slack,
            "suspend": plan.collision_action == Plan.CollisionAction.SUSPEND,
        },
    }


def _snapshot_store(redis, key_hash: str, snapshot: dict | None) -> None:
    # A miss is cached too ("0"), so a well-formed unknown key cannot hammer the database.
    redis.set(store.snapshot_key(key_hash), json.dumps(snapshot) if snapshot else "0",
              ex=conf.get("CDP_LICENSE_CACHE_SECONDS"))


def _snapshot_fresh(redis, key_hash: str) -> dict | None:
    snapshot = _snapshot_load(key_hash)
    _snapshot_store(redis, key_hash, snapshot)
    return snapshot


# --- The answer --------------------------------------------------------------------------------------


def _license_data(snapshot: dict, *, status: str | None = None) -> dict:
    return {
        "key_prefix": snapshot["prefix"],
        "status": status or snapshot["status"],
        "plan": snapshot["plan"],
        "expires_at": snapshot["expires_at"],
        "max_machines": snapshot["max_machines"],
        "machines_used": len(snapshot["machines"]),
        "entitlements": snapshot["entitlements"],
    }


def _decide(snapshot: dict, fingerprint: str | None, now_ts: float) -> str | None:
    """The code from the license's own state, or None when a machine seat decides."""
    status = snapshot["status"]
    if status == License.Status.SUSPENDED or not snapshot["tenant_active"]:
        return ValidationCode.SUSPENDED
    if status == License.Status.CANCELLED:
        return ValidationCode.CANCELLED
    if status == License.Status.EXPIRED or (snapshot["expires_ts"] is not None and snapshot["expires_ts"] <= now_ts):
        return ValidationCode.EXPIRED
    if not fingerprint:
        return ValidationCode.FINGERPRINT_SCOPE_REQUIRED if snapshot["require_fingerprint"] else ValidationCode.VALID
    machine_status = snapshot["machines"].get(fingerprint)
    if machine_status == Machine.Status.BANNED:
        return ValidationCode.BANNED
    if machine_status is not None:
        return ValidationCode.VALID
    return None


def license_validate(
    *,
    key: str,
    fingerprint: str | None,
    ip: str | None,
    now: datetime.datetime | None = None,
) -> ValidationResult:
    """Answer whether ``key`` may be used on the machine ``fingerprint`` from ``ip``.

    Never raises for a bad key: every outcome is a ``ValidationResult`` with a documented code.
    A new fingerprint is bound while seats remain. Per-key and per-IP rate limits apply first."""
    now = now or timezone.now()
    now_ts = now.timestamp()
    redis = store.client()
    normalized = keys.normalize(key)
    key_hash = keys.key_hash(normalized) if normalized else None

    ip_limit, ip_period = conf.rate("CDP_LICENSE_RATE_PER_IP")
    key_limit, key_period = conf.rate("CDP_LICENSE_RATE_PER_KEY")
    pipe = redis.pipeline(transaction=False)
    ip_window = int(now_ts // ip_period)
    pipe.incr(store.rate_key("ip", ip or "-", ip_window))
    pipe.expire(store.rate_key("ip", ip or "-", ip_window), ip_period * 2)
    if key_hash:
        key_window = int(now_ts // key_period)
        pipe.incr(store.rate_key("key", key_hash, key_window))
        pipe.expire(store.rate_key("key", key_hash, key_window), key_period * 2)
        pipe.get(store.snapshot_key(key_hash))
    replies = pipe.execute()

    if replies[0] > ip_limit:
        return _rate_limited(now_ts, ip_period)
    if key_hash and replies[2] > key_limit:
        return _rate_limited(now_ts, key_period)
    if not key_hash:
        # Wrong shape or checksum: answered without a database query.
        return _finish(redis, None, ValidationCode.NOT_FOUND, fingerprint, ip, now)

    cached = replies[4]
    if cached is None:
        snapshot = _snapshot_fresh(redis, key_hash)
    else:
        snapshot = None if cached == b"0" else json.loads(cached)
    if snapshot is None:
        return _finish(redis, None, ValidationCode.NOT_FOUND, fingerprint, ip, now)

    if _collisions_check(redis, snapshot, fingerprint, ip, now):
        snapshot = _snapshot_fresh(redis, key_hash) or snapshot

    code = _decide(snapshot, fingerprint, now_ts)
    machine = {"fingerprint": fingerprint, "bound_now": False} if fingerprint else None
    if code is None:
        bound = machine_bind_for_validation(snapshot=snapshot, fingerprint=fingerprint, ip=ip)
        if bound is None:
            code = ValidationCode.TOO_MANY_MACHINES
        else:
            code = ValidationCode.VALID
            machine["bound_now"] = True
            snapshot = _snapshot_fresh(redis, key_hash) or snapshot
    if machine is not None:
        machine["status"] = snapshot["machines"].get(fingerprint)
    data = {"license": _license_data(snapshot), "machine": machine}
    return _finish(redis, snapshot, code, fingerprint, ip, now, data=data)


def machine_bind_for_validation(*, snapshot: dict, fingerprint: str, ip: str | None) -> Machine | None:
    actor = Actor(label=f"license:{snapshot['prefix']}", ip=ip)
    return machine_bind(license_id=snapshot["id"], fingerprint=fingerprint, ip=ip, actor=actor)


def _rate_limited(now_ts: float, period: int) -> ValidationResult:
    retry_after = max(1, math.ceil(period - (now_ts % period)))
    ops_metrics.license_validated(ValidationCode.RATE_LIMITED)
    return ValidationResult(code=ValidationCode.RATE_LIMITED, http_status=429,
                            detail=DETAILS[ValidationCode.RATE_LIMITED],
                            retry_after=retry_after)


def _finish(redis, snapshot, code, fingerprint, ip, now, *, data=None) -> ValidationResult:
    validation_log_push(redis, [now.isoformat(), snapshot["id"] if snapshot else None,
                                snapshot["prefix"] if snapshot else "", (fingerprint or "")[:255], ip, code,
                                code == ValidationCode.VALID])
    ops_metrics.license_validated(code)
    return ValidationResult(code=code, detail=DETAILS[code], data=data or {})


def validation_body(result: ValidationResult, *, nonce: str | None = None, now=None) -> bytes:
    """The exact bytes answered (and signed): ``{"meta": {...}, "data": {...}}``."""
    body = {
        "meta": {
            "valid": result.valid,
            "code": result.code,
            "detail": result.detail,
            "ts": (now or timezone.now()).isoformat(),
            "nonce": nonce or secrets.token_hex(16),
        },
        "data": result.data,
    }
    return json.dumps(body, separators=(",", ":")).encode()


# --- Collisions ---------------------------------------------------------------------------------------


def _collisions_check(redis, snapshot: dict, fingerprint: str | None, ip: str | None, now) -> bool:
    """Count distinct IPs and fingerprints per window in Redis; record a collision (once per window
    and kind) when either passes its allowance. True when the license was suspended because of it."""
    policy = snapshot["collision"]
    window_seconds = policy["window_minutes"] * 60
    bucket = int(now.timestamp() // window_seconds)
    ip_set = store.collision_set_key(snapshot["id"], bucket, "ip")
    fp_set = store.collision_set_key(snapshot["id"], bucket, "fingerprint")
    pipe = redis.pipeline(transaction=False)
    pipe.sadd(ip_set, ip or "-")
    pipe.scard(ip_set)
    pipe.expire(ip_set, window_seconds)
    if fingerprint:
        pipe.sadd(fp_set, fingerprint)
        pipe.scard(fp_set)
        pipe.expire(fp_set, window_seconds)
    replies = pipe.execute()
    over = []
    if replies[1] > policy["ip_allowance"]:
        over.append((Collision.Kind.IP, ip_set, replies[1], policy["ip_allowance"]))
    if fingerprint and replies[4] > policy["fingerprint_allowance"]:
        over.append((Collision.Kind.FINGERPRINT, fp_set, replies[4], policy["fingerprint_allowance"]))
    suspended = False
    for kind, set_key, count, allowance in over:
        if not redis.set(store.collision_done_key(snapshot["id"], bucket, kind), "1", nx=True, ex=window_seconds):
            continue
        evidence = sorted(member.decode() for member in redis.smembers(set_key))[:200]
        collision = collision_record(
            license_id=snapshot["id"], kind=kind, distinct_count=count, allowance=allowance,
            window_started_at=datetime.datetime.fromtimestamp(bucket * window_seconds, tz=datetime.UTC),
            window_minutes=policy["window_minutes"], evidence=evidence, suspend=policy["suspend"],
        )
        suspended = suspended or collision.action == Collision.Action.SUSPENDED
    return suspended


def collision_record(
    *,
    license_id: int,
    kind: str,
    distinct_count: int,
    allowance: int,
    window_started_at: datetime.datetime,
    window_minutes: int,
    evidence: list[str],
    suspend: bool,
) -> Collision:
    """Record a collision with its evidence and, when the plan says so, suspend the license."""
    actor = Actor.system("licensing:collision-detector")
    with transaction.atomic():
        license = License.objects.select_related("tenant").get(pk=license_id)
        collision, created = Collision.objects.get_or_create(
            license=license, kind=kind, window_started_at=window_started_at,
            defaults={"window_minutes": window_minutes, "distinct_count": distinct_count, "allowance": allowance,
                      "evidence": {"kind": kind, "values": evidence}},
        )
        if not created:
            return collision
        audit_record(actor=actor, action=AuditAction.LICENSE_COLLISION, resource_type="license", resource_id=license.pk,
                     tenant=license.tenant, changes={"kind": kind, "distinct": distinct_count,
                                                     "allowance": allowance, "evidence": evidence[:20]})
        if suspend and license.status in License.USABLE_STATUSES:
            label = "IPs" if kind == Collision.Kind.IP else "fingerprints"
            license_suspend(license=license, actor=actor,
                            reason=f"Collision: {distinct_count} distinct {label} in {window_minutes} min "
                                   f"(allowed {allowance}).")
            collision.action = Collision.Action.SUSPENDED
            collision.save(update_fields=["action"])
    return collision


def collision_resolve(*, collision: Collision, actor: Actor) -> Collision:
    """Mark a collision reviewed. Reinstating the license is a separate, deliberate step."""
    with transaction.atomic():
        locked = Collision.objects.select_for_update().select_related("license__tenant").get(pk=collision.pk)
        if locked.resolved_at is None:
            locked.resolved_at = timezone.now()
            locked.resolved_by = actor.label[:255]
            locked.save(update_fields=["resolved_at", "resolved_by"])
            audit_record(actor=actor, action=AuditAction.COLLISION_RESOLVE, resource_type="collision",
                         resource_id=locked.pk,
                         tenant=locked.license.tenant, changes={"license": locked.license.key_prefix})
    return locked


# --- The validation log, written in batches -----------------------------------------------------------


def validation_log_push(redis, entry: list) -> None:
    """Buffer one log row in Redis; flush when the batch is full or the last flush is old enough."""
    batch = conf.get("CDP_LICENSE_LOG_BATCH")
    pipe = redis.pipeline(transaction=False)
    pipe.rpush(store.LOG_BUFFER, json.dumps(entry, separators=(",", ":")))
    pipe.set(store.LOG_FLUSH_FLAG, "1", nx=True, ex=max(1, conf.get("CDP_LICENSE_LOG_FLUSH_SECONDS")))
    length, flag_was_absent = pipe.execute()
    if length >= batch or flag_was_absent:
        validation_log_flush()


def validation_log_flush(*, limit: int | None = None) -> int:
    """Move buffered validation rows into the database; returns how many were written.

    Also brings ``License.last_validated_at`` and each machine's last IP and time up to date, one
    UPDATE per license and machine seen in the batch rather than one per request."""
    redis = store.client()
    limit = limit or max(conf.get("CDP_LICENSE_LOG_BATCH"), 1) * 4
    pipe = redis.pipeline(transaction=True)
    pipe.lrange(store.LOG_BUFFER, 0, limit - 1)
    pipe.ltrim(store.LOG_BUFFER, limit, -1)
    raw, _ = pipe.execute()
    if not raw:
        return 0
    entries = [json.loads(item) for item in raw]
    license_ids = {entry[1] for entry in entries if entry[1]}
    # A license deleted since (or rolled back, in tests) keeps its rows, unlinked.
    existing = set(License.objects.filter(pk__in=license_ids).values_list("pk", flat=True))
    rows = []
    last_seen: dict[int, str] = {}
    machines_seen: dict[tuple[int, str], tuple[str, str | None]] = {}
    for created, license_id, prefix, fingerprint, ip, code, valid in entries:
        license_id = license_id if license_id in existing else None
        rows.append(ValidationLog(created_at=datetime.datetime.fromisoformat(created), license_id=license_id,
                                  key_prefix=prefix, fingerprint=fingerprint, ip_address=ip, code=code, valid=valid))
        if license_id and valid:
            last_seen[license_id] = max(created, last_seen.get(license_id, created))
            if fingerprint:
                machines_seen[(license_id, fingerprint)] = (created, ip)
    with transaction.atomic():
        ValidationLog.objects.bulk_create(rows, batch_size=1000)
        for license_id, seen in last_seen.items():
            License.objects.filter(pk=license_id).update(last_validated_at=datetime.datetime.fromisoformat(seen))
        for (license_id, fingerprint), (seen, ip) in machines_seen.items():
            Machine.objects.filter(license_id=license_id, fingerprint=fingerprint).update(
                last_seen_at=datetime.datetime.fromisoformat(seen), last_ip=ip)
    return len(rows)
