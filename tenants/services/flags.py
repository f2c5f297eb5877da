from __future__ import annotations

import hashlib

from tenants.models import FeatureFlag, Tenant


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
