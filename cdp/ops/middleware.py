"""The operations middleware, first in the chain (before tenant routing, so these answer on any
host, by IP): a request id for the logs, request latency for the metrics, ``/metrics`` and
``/readyz``."""

from __future__ import annotations

import logging
import time

from django.http import JsonResponse

from cdp.ops import logs, metrics
from cdp.ops.health import readiness_report

logger = logging.getLogger(__name__)


class OpsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = logs.request_id_for(request.META.get("HTTP_X_REQUEST_ID"))
        token = logs.set_request_id(request_id)
        try:
            if request.path == "/metrics":
                return metrics.metrics_view(request)
            if request.path == "/readyz":
                ready, report = readiness_report()
                return JsonResponse({"status": "ready" if ready else "not_ready", **report},
                                    status=200 if ready else 503)
            started = time.perf_counter()
            response = self.get_response(request)
            try:
                metrics.REQUEST_LATENCY.labels(route=metrics.route_name(request), method=request.method,
                                               status=str(response.status_code)).observe(time.perf_counter() - started)
            except Exception:  # a metric never breaks a request
                logger.exception("request metric failed")
            response["X-Request-ID"] = request_id
            return response
        finally:
            logs.reset_request_id(token)
