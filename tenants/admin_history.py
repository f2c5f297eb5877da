"""The tenant admin's history (Django's ``LogEntry``): whose it is, and what it may say.

Whose: ``django.contrib.admin`` is in TENANT_APPS as well as SHARED_APPS, so every tenant schema
has its own ``django_admin_log``. On a tenant host the search path (``<tenant>, public``) makes
``LogEntry`` that tenant's table: the history pages and the index's "Recent actions" can only
show the tenant's entries, whatever the object ids, and the operators' admin on the platform host
reads and writes the public table only. No query has to remember a tenant filter.

What: an entry keeps ``str(obj)`` forever (``object_repr``), and erasure or a rotated secret does
not change a string copied there. So the tenant admin writes every entry through
``history_text``: a URL keeps only its scheme and host (webhook and CRM URLs carry tokens in the
path, query or user info), and a model admin with secret-bearing objects may narrow it further with
``history_repr``. Change messages hold field labels, plus the names of inline objects, which go
through the same function. Personal data in the history is erased with the person
(``customers.services.privacy``).
"""

from __future__ import annotations

import json

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.admin.options import get_content_type_for_model

from cdp.redact import url_redact


def history_text(text: str) -> str:
    """``text`` as the history may keep it: every URL reduced to ``scheme://host/…``."""
    return url_redact(text)


class RedactedHistoryMixin:
    """For ModelAdmins of the tenant admin: log entries with redacted ``object_repr`` and inline
    names (``history_repr``)."""

    def history_repr(self, obj) -> str:
        return history_text(str(obj))

    def _log(self, request, objects, action_flag: int, message="") -> list[LogEntry]:
        if isinstance(message, list):
            message = json.dumps(self._redacted_message(message))
        entries = [LogEntry(user_id=request.user.pk,
                            content_type_id=get_content_type_for_model(obj).pk,
                            object_id=str(obj.pk), object_repr=self.history_repr(obj)[:200],
                            action_flag=action_flag, change_message=message) for obj in objects]
        return LogEntry.objects.bulk_create(entries)

    @staticmethod
    def _redacted_message(message: list) -> list:
        redacted = []
        for part in message:
            part = {action: dict(details) for action, details in part.items()}
            for details in part.values():
                if "object" in details:
                    details["object"] = history_text(details["object"])
            redacted.append(part)
        return redacted

    def log_addition(self, request, obj, message):
        return self._log(request, [obj], ADDITION, message)[0]

    def log_change(self, request, obj, message):
        return self._log(request, [obj], CHANGE, message)[0]

    def log_deletions(self, request, queryset):
        return self._log(request, list(queryset), DELETION)
