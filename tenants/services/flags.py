"""Feature flags: the switch read on every request that asks (``feature_flag_is_enabled``), and
the operators' writes, each audited on the platform's trail."""

from __future__ import annotations

import hashlib

from cdp.context import Actor
from tenants.codes import AuditAction
from tenants.models import FeatureFlag, Tenant
from tenants.services.records import record_create, record_delete, record_update

FEATURE_FLAG_EDITABLE = ("key", "description", "enabled", "rollout_percentage", "tenants")


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


def feature_flag_create(*, key: str, actor: Actor, description: str = "", enabled: bool = False,
                        rollout_percentage: int = 100, tenants=()) -> FeatureFlag:
    return record_create(FeatureFlag, fields={"key": key, "description": description, "enabled": enabled,
                                              "rollout_percentage": rollout_percentage, "tenants": list(tenants)},
                         actor=actor, action=AuditAction.FEATURE_FLAG_CREATE, resource_type="feature_flag",
                         message="The feature flag could not be saved.")


def feature_flag_update(*, flag: FeatureFlag, actor: Actor, **fields) -> FeatureFlag:
    """Switch a flag, change its rollout or its tenants: every tenant follows on its next request."""
    return record_update(flag, fields=fields, editable=FEATURE_FLAG_EDITABLE, actor=actor,
                         action=AuditAction.FEATURE_FLAG_UPDATE, resource_type="feature_flag",
                         message="The feature flag could not be saved.")


def feature_flag_delete(*, flag: FeatureFlag, actor: Actor) -> None:
    record_delete(flag, describe=("key", "enabled", "rollout_percentage"), actor=actor,
                  action=AuditAction.FEATURE_FLAG_DELETE, resource_type="feature_flag")
