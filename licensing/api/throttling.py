"""Monthly API calls per tenant, as the tenant's license allows.

Every authenticated API request on a tenant host is counted in Redis. Each answer carries
``X-Quota-Limit``, ``X-Quota-Remaining``, ``X-Quota-Used`` and ``X-Quota-Reset`` (Unix time of
the next month's start, UTC); past the limit the answer is 429 ``api_quota_exceeded`` with
``Retry-After``. Tenants without a limit get ``X-Quota-Limit: unlimited``.
"""

from __future__ import annotations

from django.db import connection
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.throttling import BaseThrottle

from licensing.codes import ErrorCode
from licensing.services import api_call_meter


class ApiQuotaExceeded(exceptions.Throttled):
    default_code = ErrorCode.API_QUOTA_EXCEEDED


class LicenseApiQuotaThrottle(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        tenant = getattr(connection, "tenant", None)
        if tenant is None or tenant.schema_name == "public" or not getattr(request.user, "is_authenticated", False):
            return True
        quota = api_call_meter(tenant=tenant)
        # DRF copies view.headers onto the response, the 429 included.
        headers = getattr(view, "headers", None)
        if headers is not None:
            headers["X-Quota-Used"] = str(quota.used)
            headers["X-Quota-Limit"] = "unlimited" if quota.limit is None else str(quota.limit)
            if quota.limit is not None:
                headers["X-Quota-Remaining"] = str(quota.remaining)
                headers["X-Quota-Reset"] = str(int(quota.reset_at.timestamp()))
        if quota.exceeded:
            wait = max(1, int((quota.reset_at - timezone.now()).total_seconds()))
            raise ApiQuotaExceeded(
                wait=wait,
                detail=f"Monthly API call quota of {quota.limit} reached; it resets at {quota.reset_at:%Y-%m-%d} UTC.",
            )
        return True
