"""Platform-wide settings changed without a deploy (``SystemConfig``), each change audited."""

from __future__ import annotations

from cdp.context import Actor
from tenants.codes import AuditAction
from tenants.models import SystemConfig
from tenants.services.records import record_create, record_delete, record_update

SYSTEM_CONFIG_EDITABLE = ("key", "value", "description")


def system_config_create(*, key: str, actor: Actor, value=None, description: str = "") -> SystemConfig:
    return record_create(SystemConfig, fields={"key": key, "value": {} if value is None else value,
                                               "description": description},
                         actor=actor, action=AuditAction.SYSTEM_CONFIG_CREATE, resource_type="system_config",
                         message="The setting could not be saved.")


def system_config_update(*, config: SystemConfig, actor: Actor, **fields) -> SystemConfig:
    return record_update(config, fields=fields, editable=SYSTEM_CONFIG_EDITABLE, actor=actor,
                         action=AuditAction.SYSTEM_CONFIG_UPDATE, resource_type="system_config",
                         message="The setting could not be saved.")


def system_config_delete(*, config: SystemConfig, actor: Actor) -> None:
    record_delete(config, describe=("key", "value"), actor=actor, action=AuditAction.SYSTEM_CONFIG_DELETE,
                  resource_type="system_config")
