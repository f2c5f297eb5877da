"""Tenants settings (``cdp.conf.AppSettings``: a Django setting of the same name, else the default;
``cdp/settings`` copies ``CDP_ADMIN_*`` environment variables into settings)."""

from __future__ import annotations

from cdp.conf import AppSettings

conf = AppSettings({
    # The platform superuser ``bootstrap`` creates (``make run``) when no user has this e-mail.
    "CDP_ADMIN_EMAIL": "admin@cdp.localhost",
    # Its password; empty: a random one, printed once.
    "CDP_ADMIN_PASSWORD": "",
})
get = conf.get
