"""Feature flags: the operators' writes, each audited on the platform's trail (the switch itself
is read by ``tenants.selectors.feature_flag_is_enabled``)."""

from __future__ import annotations

from cdp.context import Actor
from tenants.codes import AuditAction
from tenants.models import FeatureFlag
from tenants.services.records import record_create, record_delete, record_update

FEATURE_FLAG_EDITABLE = ("key", "description", "enabled", "rollout_percentage", "tenants")


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
