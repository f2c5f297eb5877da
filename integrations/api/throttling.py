"""Throttle of the inbound VTEX hook: it takes no API key, so it is limited per integration and
client address (``cdp.context.client_ip``: ``X-Forwarded-For`` only behind a trusted proxy).
DRF's cache-based throttle; the cache is Redis, with tenant-aware keys."""

from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle

from cdp.context import client_ip
from integrations import conf


class VtexHookThrottle(SimpleRateThrottle):
    scope = "vtex_hook"

    def get_rate(self) -> str:
        return str(conf.get("INTEGRATIONS_VTEX_HOOK_RATE"))

    def get_cache_key(self, request, view) -> str:
        ident = f"{view.kwargs.get('integration_id')}:{client_ip(request.META) or '-'}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
