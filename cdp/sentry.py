"""Forwarding errors to Sentry with the official SDK, when ``SENTRY_DSN`` is set.

The platform records its own system events either way (``tenants.SystemEvent``); Sentry is for
teams that already watch one. Nothing personal leaves: the SDK's default PII is off, and every
event's messages and exception values pass through ``cdp.redact.personal_redact`` first."""

from __future__ import annotations

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

from cdp.redact import personal_redact


def _masked(event: dict, hint: dict) -> dict:
    for exception in (event.get("exception") or {}).get("values") or []:
        if exception.get("value"):
            exception["value"] = personal_redact(exception["value"])
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    if isinstance(event.get("logentry"), dict):
        for field in ("message", "formatted"):
            if event["logentry"].get(field):
                event["logentry"][field] = personal_redact(event["logentry"][field])
    if event.get("message"):
        event["message"] = personal_redact(event["message"])
    request = event.get("request") or {}
    request.pop("query_string", None)
    request.pop("data", None)
    request.pop("cookies", None)
    return event


def sentry_init(*, dsn: str, release: str, environment: str) -> None:
    sentry_sdk.init(dsn=dsn, release=release, environment=environment, send_default_pii=False,
                    include_local_variables=False, max_request_body_size="never", before_send=_masked,
                    integrations=[DjangoIntegration(), CeleryIntegration()], traces_sample_rate=0)
