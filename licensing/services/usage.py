"""Enforcing a tenant's limits and metering its use.

- ``license_quota_guard`` is registered with ``cdp.registry``: apps that create customers (or
  users) ask it before writing, and a refusal is a ``QuotaExceeded`` that leaves nothing written.
- ``api_call_meter`` counts API calls per tenant per month in Redis (the throttle calls it).
- Warnings at 80% and 100% of a limit are written once per tenant, resource, period and threshold.

A tenant without any license is governed by its own settings: ``settings.max_customers`` caps
customers and nothing else is limited. A tenant whose licenses are all suspended, expired or
cancelled may keep reading its data but may not grow it (``license_inactive``).
"""

from __future__ import annotations

import datetime
import json
import math
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from cdp.context import Actor
from cdp.exceptions import QuotaExceeded
from licensing import conf, store
from licensing.codes import AuditAction, ErrorCode
from licensing.models import WARNING_THRESHOLDS, License, UsageLog
from licensing.selectors import license_current, month_start, next_month_start, usage_current
from tenants.models import Tenant
from tenants.services import audit_record

GUARDED_RESOURCES = ("customers", "users", "ai_requests_per_month")
METER_SYNC_EVERY = 100  # copy the Redis counter to the license row every N calls


def _limit_for(tenant: Tenant, license: License | None, resource: str) -> int | None:
    if license is None:
        return tenant.setting("max_customers") if resource == "customers" else None
    return license.limit(resource)


def license_quota_guard(resource: str, *, tenant: Tenant, adding: int = 1) -> None:
    """Raise ``QuotaExceeded`` when ``tenant`` may not add ``adding`` more of ``resource``.

    Exactly at the limit is allowed; one more is refused, whole. Crossing 80% or 100% writes a
    warning (once per period)."""
    if resource not in GUARDED_RESOURCES or adding <= 0 or tenant is None or tenant.is_public:
        return
    license = license_current(tenant=tenant)
    if license is not None and not license.is_usable():
        state = License.Status.EXPIRED if license.is_expired() else license.status
        raise QuotaExceeded(
            f"The organization's license is {state}: nothing more can be added until it is renewed.",
            code=ErrorCode.LICENSE_INACTIVE, fields={resource: [f"License {license.key_prefix}… is {state}."]},
        )
    limit = _limit_for(tenant, license, resource)
    if limit is None:
        return
    used = usage_current(tenant=tenant, resource=resource, license=license)
    label = resource.replace("_", " ")
    if used + adding > limit:
        raise QuotaExceeded(
            f"Your plan allows {limit} {label}; you have {used} and asked to add {adding}. Nothing was saved.",
            fields={resource: [f"Limit {limit}, in use {used}, requested {adding}."]},
        )
    usage_warnings_check(tenant=tenant, license=license, resource=resource, used=used + adding, limit=limit)


def usage_warnings_check(*, tenant: Tenant, license: License | None, resource: str, used: int,
                         limit: int | None) -> list[UsageLog]:
    """Write the 80% / 100% warnings ``used`` has reached and that were not written yet."""
    if not limit:
        return []
    period = month_start() if resource.endswith("_per_month") else None
    written = []
    for threshold in WARNING_THRESHOLDS:
        if used * 100 >= threshold * limit:
            entry = usage_warning_record(tenant=tenant, license=license, resource=resource, threshold=threshold,
                                         used=used, limit=limit, period_start=period)
            if entry is not None:
                written.append(entry)
    return written


def usage_warning_record(*, tenant: Tenant, license: License | None, resource: str, threshold: int, used: int,
                         limit: int, period_start: datetime.date | None) -> UsageLog | None:
    """One warning per tenant, resource, period and threshold, with its audit entry; None if already written."""
    exists = UsageLog.objects.filter(tenant=tenant, resource=resource, event=UsageLog.Event.WARNING,
                                     period_start=period_start, threshold=threshold)
    if exists.exists():
        return None
    try:
        with transaction.atomic():
            entry = UsageLog.objects.create(tenant=tenant, license=license, resource=resource,
                                            event=UsageLog.Event.WARNING, period_start=period_start,
                                            threshold=threshold, used=used, limit=limit)
            audit_record(actor=Actor.system("licensing:meter"), action=AuditAction.LICENSE_USAGE_WARNING,
                         resource_type="license", resource_id=license.pk if license else "", tenant=tenant,
                         changes={"resource": resource, "threshold": threshold, "used": used, "limit": limit})
    except IntegrityError:  # a concurrent request wrote it first
        return None
    return entry


def ai_requests_record(*, tenant: Tenant, amount: int = 1) -> License:
    """Count ``amount`` AI requests against the tenant's license, refusing past its monthly limit."""
    license_quota_guard("ai_requests_per_month", tenant=tenant, adding=amount)
    license = license_current(tenant=tenant)
    if license is None:
        raise QuotaExceeded("AI requests need a license.", code=ErrorCode.LICENSE_REQUIRED)
    period = month_start()
    with transaction.atomic():
        locked = License.objects.select_for_update().get(pk=license.pk)
        if locked.usage_period_start != period:
            locked.usage_period_start, locked.ai_requests_used, locked.api_calls_used = period, 0, 0
        locked.ai_requests_used += amount
        locked.save(update_fields=["usage_period_start", "ai_requests_used", "api_calls_used", "updated_at"])
        UsageLog.objects.create(tenant=tenant, license=locked, resource="ai_requests_per_month",
                                event=UsageLog.Event.INCREMENT, period_start=period, used=locked.ai_requests_used,
                                limit=locked.limit("ai_requests_per_month"), amount=amount)
        audit_record(actor=Actor.system("licensing:meter"), action=AuditAction.LICENSE_AI_REQUESTS,
                     resource_type="license",
                     resource_id=locked.pk, tenant=tenant, changes={"amount": amount,
                                                                    "used": locked.ai_requests_used})
    return locked


# --- Monthly API calls ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiQuota:
    used: int
    limit: int | None
    reset_at: datetime.datetime

    @property
    def exceeded(self) -> bool:
        return self.limit is not None and self.used > self.limit

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)


def _tenant_api_limit(redis, tenant: Tenant, cached: bytes | None) -> tuple[int | None, int | None]:
    """(limit, license id), cached briefly; license writes drop the cache."""
    if cached is not None:
        data = json.loads(cached)
        return data["limit"], data["license"]
    license = license_current(tenant=tenant)
    limit = license.limit("api_calls_per_month") if license else None
    redis.set(store.tenant_limits_key(tenant.pk), json.dumps({"limit": limit, "license": license and license.pk}),
              ex=conf.get("CDP_LICENSE_CACHE_SECONDS"))
    return limit, license and license.pk


def api_call_meter(*, tenant: Tenant, now: datetime.datetime | None = None) -> ApiQuota:
    """Count one API call for ``tenant`` this month and say where it stands against its limit.

    Calls refused for the quota are counted too (they still cost a request)."""
    now = now or timezone.now()
    redis = store.client()
    period = month_start(now)
    counter = store.api_calls_key(tenant.pk, period.strftime("%Y%m"))
    pipe = redis.pipeline(transaction=False)
    pipe.incr(counter)
    pipe.expire(counter, 40 * 86400)
    pipe.get(store.tenant_limits_key(tenant.pk))
    used, _, cached = pipe.execute()
    limit, license_id = _tenant_api_limit(redis, tenant, cached)
    quota = ApiQuota(used=used, limit=limit, reset_at=next_month_start(now))
    if license_id and (used % METER_SYNC_EVERY == 0 or used == 1):
        License.objects.filter(pk=license_id).update(api_calls_used=used, usage_period_start=period)
    if limit:
        # INCR hands each number to one request only, so each threshold is crossed exactly once.
        crossings = {math.ceil(limit * threshold / 100) for threshold in WARNING_THRESHOLDS}
        if used in crossings or used == limit + 1:
            license = License.objects.filter(pk=license_id).first()
            usage_warnings_check(tenant=tenant, license=license, resource="api_calls_per_month",
                                 used=min(used, limit), limit=limit)
    return quota
