"""Fast path for ``POST /api/v1/licenses/validate`` on the platform's host.

Validation needs no tenant, session, user or CSRF check, and it is the one endpoint clients call
constantly. Answering it before ``TenantMainMiddleware`` skips the per-request Domain lookup
(two database round trips), which is most of its cost: measured with bench/bench_license_validate.py.
The URL stays routed in ``cdp.urls.public`` (same view code), so the endpoint still works, and
is documented, if this middleware is not installed. Any other host falls through to normal
routing, where the path does not exist (404).
"""

from __future__ import annotations

import threading
import time

from django.db import connection

from licensing.api.views import validation_response
from tenants.models import Domain

VALIDATE_PATHS = frozenset({"/api/v1/licenses/validate", "/api/v1/licenses/validate/"})
PUBLIC_HOSTS_TTL = 60.0

_lock = threading.Lock()
_public_hosts: tuple[float, frozenset[str]] = (0.0, frozenset())


def public_hosts() -> frozenset[str]:
    """Host names of the public tenant, re-read at most once a minute per process."""
    global _public_hosts
    loaded_at, hosts = _public_hosts
    if time.monotonic() - loaded_at < PUBLIC_HOSTS_TTL:
        return hosts
    with _lock:
        hosts = frozenset(Domain.objects.filter(tenant__schema_name="public").values_list("domain", flat=True))
        _public_hosts = (time.monotonic(), hosts)
    return hosts


def forget_public_hosts() -> None:
    global _public_hosts
    _public_hosts = (0.0, frozenset())


class LicenseValidateFastPathMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.path in VALIDATE_PATHS:
            host = request.get_host().split(":")[0].lower()  # get_host() enforces ALLOWED_HOSTS
            if host in public_hosts():
                connection.set_schema_to_public()
                return validation_response(request.body, request.META)
        return self.get_response(request)
