"""Platform-wide settings changed without a deploy (``SystemConfig``), each change audited.

Two keys act on every request (``tenants.selectors.platform_settings``, read through a cache of a
few seconds per process):

- ``maintenance``: ``{"enabled": true, "message": "...", "retry_after_minutes": 30}``: everyone but
  operators gets 503 with ``Retry-After`` (``tenants.middleware.MaintenanceMiddleware``);
- ``announcement``: ``{"message": "..."}`` or ``{"message": {"en": "...", "es": "..."}}``, optional
  ``"until": "2026-12-24T00:00:00Z"``: a banner on every portal page until then.
Their values are checked here, so a typo is a field error on the admin form, never a 500 later.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils.dateparse import parse_datetime

from cdp.context import Actor
from cdp.exceptions import ApplicationError
from tenants.codes import AuditAction
from tenants.models import SystemConfig
from tenants.selectors import platform_settings_forget
from tenants.services.records import record_create, record_delete, record_update

SYSTEM_CONFIG_EDITABLE = ("key", "value", "description")
MAINTENANCE_KEY = "maintenance"
ANNOUNCEMENT_KEY = "announcement"


def _text_or_languages(value) -> bool:
    if isinstance(value, str):
        return True
    return isinstance(value, dict) and bool(value) and all(
        isinstance(code, str) and isinstance(text, str) for code, text in value.items())


def system_config_clean(key: str, value):
    """The value of a setting that acts, checked; field errors on ``value`` otherwise."""
    errors = []
    if key == MAINTENANCE_KEY:
        if not isinstance(value, dict):
            errors.append('An object: {"enabled": true, "message": "...", "retry_after_minutes": 30}.')
        else:
            if not isinstance(value.get("enabled", False), bool):
                errors.append('"enabled" is true or false.')
            if "message" in value and not _text_or_languages(value["message"]):
                errors.append('"message" is a text, or an object of language: text.')
            minutes = value.get("retry_after_minutes", 30)
            if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 24 * 60:
                errors.append('"retry_after_minutes" is a whole number from 1 to 1440.')
    elif key == ANNOUNCEMENT_KEY:
        if not isinstance(value, dict) or not _text_or_languages(value.get("message")):
            errors.append('An object: {"message": "..."} (or {"message": {"en": "...", "es": "..."}}).')
        elif "until" in value and not (isinstance(value["until"], str) and _aware(value["until"])):
            errors.append('"until" is a date and time with its zone, e.g. "2026-12-24T00:00:00Z".')
    if errors:
        raise ApplicationError("The setting could not be saved.", fields={"value": errors})
    return value


def _aware(text: str) -> datetime.datetime | None:
    try:
        parsed = parse_datetime(text)
    except ValueError:
        return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None


def _forget_on_commit() -> None:
    transaction.on_commit(platform_settings_forget)


@transaction.atomic
def system_config_create(*, key: str, actor: Actor, value=None, description: str = "") -> SystemConfig:
    value = system_config_clean(key, {} if value is None else value)
    _forget_on_commit()
    return record_create(SystemConfig, fields={"key": key, "value": value, "description": description},
                         actor=actor, action=AuditAction.SYSTEM_CONFIG_CREATE, resource_type="system_config",
                         message="The setting could not be saved.")


@transaction.atomic
def system_config_update(*, config: SystemConfig, actor: Actor, **fields) -> SystemConfig:
    system_config_clean(fields.get("key", config.key), fields.get("value", config.value))
    _forget_on_commit()
    return record_update(config, fields=fields, editable=SYSTEM_CONFIG_EDITABLE, actor=actor,
                         action=AuditAction.SYSTEM_CONFIG_UPDATE, resource_type="system_config",
                         message="The setting could not be saved.")


@transaction.atomic
def system_config_delete(*, config: SystemConfig, actor: Actor) -> None:
    _forget_on_commit()
    record_delete(config, describe=("key", "value"), actor=actor, action=AuditAction.SYSTEM_CONFIG_DELETE,
                  resource_type="system_config")
