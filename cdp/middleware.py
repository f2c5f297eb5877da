from __future__ import annotations

import functools
import time

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse

from cdp.context import client_ip, reset_request_ip, set_request_ip


@functools.lru_cache(maxsize=4)
def _redis_client(url: str):
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)


def broker_client():
    """One pooled client per URL: a health probe should not pay for a new connection each time."""
    return _redis_client(settings.REDIS_URL)


def health_report() -> tuple[bool, dict]:
    """Database and broker state, each with its round-trip time."""
    report: dict = {}
    healthy = True
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        report["database"] = {"status": "ok", "ms": round((time.perf_counter() - started) * 1000, 2)}
    except Exception as exc:  # any failure is the answer we report
        healthy = False
        report["database"] = {"status": "error", "error": exc.__class__.__name__}
    started = time.perf_counter()
    try:
        broker_client().ping()
        report["broker"] = {"status": "ok", "ms": round((time.perf_counter() - started) * 1000, 2)}
    except Exception as exc:
        healthy = False
        report["broker"] = {"status": "error", "error": exc.__class__.__name__}
    return healthy, report


class HealthCheckMiddleware:
    """``/healthz`` on any host, before tenant routing, so load balancers can probe by IP."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/healthz":
            healthy, report = health_report()
            body = {"status": "ok" if healthy else "error", **report}
            return JsonResponse(body, status=200 if healthy else 503)
        return self.get_response(request)


class RequestContextMiddleware:
    """Makes the client IP available to services for audit entries."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = set_request_ip(client_ip(request.META))
        try:
            return self.get_response(request)
        finally:
            reset_request_ip(token)
