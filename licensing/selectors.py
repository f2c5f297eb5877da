"""Reads about plans, licenses, usage and releases."""

from __future__ import annotations

import datetime

from django.db.models import Count, QuerySet
from django.utils import timezone
from django_tenants.utils import tenant_context
from django.utils.translation import gettext_lazy

from cdp import registry
from licensing import keys, store
from licensing.models import (
    FEATURES,
    RESOURCES,
    WARNING_THRESHOLDS,
    Asset,
    License,
    Release,
    StorageMeasurement,
    UsageLog,
    ValidationLog,
)
from tenants.models import Membership, Tenant

MONTHLY_RESOURCES = ("api_calls_per_month", "ai_requests_per_month")
RESOURCE_LABELS = {"users": gettext_lazy("users"), "customers": gettext_lazy("customers"),
                   "api_calls_per_month": gettext_lazy("API calls per month"),
                   "ai_requests_per_month": gettext_lazy("AI requests per month"),
                   "storage_gb": gettext_lazy("storage (GB)")}


def month_start(now: datetime.datetime | None = None) -> datetime.date:
    now = now or timezone.now()
    return now.astimezone(datetime.UTC).date().replace(day=1)


def next_month_start(now: datetime.datetime | None = None) -> datetime.datetime:
    start = month_start(now)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return datetime.datetime(year, month, 1, tzinfo=datetime.UTC)


def license_get_by_key(*, key: str) -> License | None:
    """The license for ``key`` (any spelling ``keys.normalize`` forgives), or None."""
    normalized = keys.normalize(key)
    if normalized is None:
        return None
    return License.objects.select_related("plan", "tenant").filter(key_hash=keys.key_hash(normalized)).first()


def license_current(*, tenant: Tenant, now: datetime.datetime | None = None) -> License | None:
    """The license that governs ``tenant``: its newest usable one, else its newest of any status."""
    now = now or timezone.now()
    licenses = list(License.objects.filter(tenant=tenant).select_related("plan").order_by("-created_at", "-id"))
    usable = [lic for lic in licenses if lic.is_usable(now)]
    return (usable or licenses or [None])[0]


def license_entitlements(*, tenant: Tenant) -> dict:
    """Features and limits for ``tenant``; no license means the tenant's own settings apply."""
    license = license_current(tenant=tenant)
    if license is None:
        return {
            "plan": None,
            "features": {feature: tenant.feature_enabled(feature) for feature in FEATURES},
            "limits": {resource: None for resource in RESOURCES} | {"customers": tenant.setting("max_customers")},
        }
    return {"plan": license.plan.code, "features": license.features(), "limits": license.limits()}


def license_feature_enabled(*, tenant: Tenant, feature: str) -> bool:
    """Whether the tenant's license (or, without one, its settings) grants ``feature``."""
    license = license_current(tenant=tenant)
    if license is None:
        return tenant.feature_enabled(feature)
    return license.is_usable() and bool(license.features().get(feature, False))


def usage_current(*, tenant: Tenant, resource: str, license: License | None = None) -> int:
    """How much of ``resource`` the tenant uses now (this month for monthly resources)."""
    if resource == "users":
        return Membership.objects.filter(tenant=tenant).count()
    if resource == "customers":
        providers = dict(registry.usage_providers())
        provider = providers.get("customers")
        if provider is None:
            return 0
        with tenant_context(tenant):
            return int(provider())
    if resource == "api_calls_per_month":
        return api_calls_this_month(tenant=tenant)
    if resource == "ai_requests_per_month":
        if license is None or license.usage_period_start != month_start():
            return 0
        return license.ai_requests_used
    return 0


def api_calls_this_month(*, tenant: Tenant) -> int:
    """API calls metered for ``tenant`` this month (Redis; the license row holds a periodic copy)."""
    value = store.client().get(store.api_calls_key(tenant.pk, month_start().strftime("%Y%m")))
    return int(value or 0)


def storage_latest(*, tenant: Tenant) -> StorageMeasurement | None:
    """The tenant's newest storage measurement (licensing.services.storage), None before the first."""
    return StorageMeasurement.objects.filter(tenant=tenant).order_by("-measured_on", "-id").first()


def _level(percent: float | None) -> str:
    if percent is None:
        return "ok"
    if percent >= 100:
        return "exceeded" if percent > 100 else "at_limit"
    return "warning" if percent >= WARNING_THRESHOLDS[0] else "ok"


def license_usage(*, tenant: Tenant) -> dict:
    """Everything the portal and admin show: the license, each limit with its use and warning level,
    and the warnings raised this month."""
    license = license_current(tenant=tenant)
    entitlements = license_entitlements(tenant=tenant)
    rows = []
    for resource in RESOURCES:
        limit = entitlements["limits"].get(resource)
        if resource == "storage_gb":
            measured = storage_latest(tenant=tenant)
            used = round(measured.total_bytes / 10**9, 2) if measured is not None else None
        else:
            used = usage_current(tenant=tenant, resource=resource, license=license)
        percent = round(used * 100 / limit, 1) if (limit and used is not None) else (
            100.0 if limit == 0 and used else None)
        rows.append({"resource": resource, "label": str(RESOURCE_LABELS.get(resource, resource.replace("_", " "))), "used": used, "limit": limit,
                     "percent": percent, "level": _level(percent), "monthly": resource in MONTHLY_RESOURCES})
    warnings = list(UsageLog.objects.filter(tenant=tenant, event=UsageLog.Event.WARNING,
                                            created_at__gte=timezone.now() - datetime.timedelta(days=31))
                    .order_by("-created_at")[:20])
    return {"license": license, "entitlements": entitlements, "rows": rows, "warnings": warnings,
            "has_warning": any(row["level"] != "ok" for row in rows),
            "period_reset": next_month_start()}


def releases_for_tenant(*, tenant: Tenant) -> QuerySet[Release]:
    """Releases the tenant may see: not drafts, of products it owns; betas only with ``beta_releases``."""
    owned = Asset.objects.filter(tenant=tenant, revoked_at__isnull=True).values("product_id")
    statuses = [Release.Status.STABLE, Release.Status.DEPRECATED]
    if license_feature_enabled(tenant=tenant, feature="beta_releases"):
        statuses.append(Release.Status.BETA)
    return (Release.objects.filter(product_id__in=owned, status__in=statuses, product__is_active=True)
            .select_related("product"))


def validation_stats(*, license: License, since: datetime.datetime | None = None) -> dict:
    """Counts per answer code of ``license``'s validations in the log. Rows still buffered in Redis
    are not counted: a page that wants them flushes first (``validation_log_flush``)."""
    rows = ValidationLog.objects.filter(license=license)
    if since:
        rows = rows.filter(created_at__gte=since)
    return dict(rows.values_list("code").annotate(n=Count("id")).values_list("code", "n"))
