"""App settings, one pattern for every app (``<app>/conf.py``):

    conf = AppSettings({"INTEGRATIONS_HTTP_TIMEOUT": 30.0, ...})
    conf.get("INTEGRATIONS_HTTP_TIMEOUT")

One precedence rule: the Django setting of that name, else the default declared beside it. The
environment is read in one place, the settings module: ``cdp/settings/base.py`` copies every
``<PREFIX>*`` environment variable of ``APP_SETTING_PREFIXES`` into a setting of the same name
(``env_app_settings``), as text; ``get`` turns text into the default's type (``"30"`` → 30.0
where the default is a float; ``"1,3,5"`` → (1, 3, 5) for a tuple; JSON for a dict; yes/no for a
bool). Tests override with pytest-django's ``settings`` fixture.
"""

from __future__ import annotations

import json
import os

from django.conf import settings

#: Environment variables with these prefixes become settings (``env_app_settings``).
APP_SETTING_PREFIXES = ("ANALYTICS_", "BILLING_", "INTEGRATIONS_", "CDP_LICENSE_", "CDP_STRIPE_", "CUSTOMERS_",
                        "CDP_CREDENTIALS_", "CDP_ADMIN_", "CDP_BILLING_", "AI_", "ENGAGEMENT_", "CDP_SMTP_",
                        "LOYALTY_")
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def env_app_settings(environ=None, *, taken=()) -> dict[str, str]:
    """Settings named like app settings, from the environment (for the settings module only)."""
    environ = os.environ if environ is None else environ
    return {name: value for name, value in environ.items()
            if name.startswith(APP_SETTING_PREFIXES) and name not in taken}


def coerce(text: str, default):
    """``text`` (from the environment) read as the type of ``default``; a ValueError says which."""
    if not isinstance(text, str) or isinstance(default, str) or default is None:
        return text
    value = text.strip()
    if isinstance(default, bool):
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise ValueError(f"not a yes/no value: {text!r}")
    if isinstance(default, (int, float)):
        return type(default)(value)
    if isinstance(default, (tuple, list)):
        items = [item.strip() for item in value.split(",") if item.strip()]
        kind = type(default[0]) if default else str
        return tuple(coerce(item, kind()) if kind is not str else item for item in items)
    if isinstance(default, dict):
        parsed = json.loads(value)
        if not isinstance(parsed, dict):
            raise ValueError(f"not a JSON object: {text!r}")
        return parsed
    return value


class AppSettings:
    """An app's settings with their defaults (see the module docstring for the rule)."""

    def __init__(self, defaults: dict):
        self.defaults = dict(defaults)

    def get(self, name: str):
        default = self.defaults[name]
        if not hasattr(settings, name):
            return default
        value = getattr(settings, name)
        try:
            return coerce(value, default)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"Setting {name}: {exc}") from None
