"""Structured logs: one JSON object per line, carrying the tenant and the request (or task) id.

``CDP_LOG_FORMAT=json`` (the production default) selects ``JsonFormatter`` for every log line;
the request id comes from a trusted ``X-Request-ID`` (a proxy's) or is made here, is echoed in
the response's ``X-Request-ID`` and set for the request's duration (``cdp.ops.middleware``); a
Celery task logs its task id in its place. The tenant is the schema the connection is in."""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import re
import uuid

from celery import signals
from django.db import connection

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("cdp_request_id", default=None)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def request_id_for(header: str | None) -> str:
    """The caller's id when it is a short token (it is logged verbatim), else a new one."""
    return header if header and _SAFE_ID.match(header) else uuid.uuid4().hex


def set_request_id(value: str | None):
    return _request_id.set(value)


def reset_request_id(token) -> None:
    _request_id.reset(token)


def current_request_id() -> str | None:
    return _request_id.get()


def _tenant() -> str | None:
    try:
        return getattr(connection, "schema_name", None)
    except Exception:  # settings not configured (a log line at import time)
        return None


class ContextFilter(logging.Filter):
    """Adds ``tenant`` and ``request_id`` to every record (also usable with a plain format)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.tenant = _tenant()
        record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, tenant, request_id, and the
    exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "tenant": getattr(record, "tenant", None) or _tenant(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
            "process": record.process,
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def connect_celery_signals() -> None:
    """A task's log lines carry its task id as their request id."""
    tokens: dict[str, contextvars.Token] = {}

    @signals.task_prerun.connect(weak=False)
    def _prerun(task_id=None, **_kwargs):
        tokens[task_id] = set_request_id(task_id)

    @signals.task_postrun.connect(weak=False)
    def _postrun(task_id=None, **_kwargs):
        token = tokens.pop(task_id, None)
        if token is not None:
            try:
                reset_request_id(token)
            except ValueError:  # set in another context (eager tasks inside a request)
                set_request_id(None)
