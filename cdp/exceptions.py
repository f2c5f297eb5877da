"""Errors that services raise; every interface turns them into one shape for the user."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from cdp.codes import ErrorCode


class ApplicationError(Exception):
    """A domain rule was broken. ``code`` is stable and documented; ``fields`` maps a field to messages."""

    code: str = ErrorCode.INPUT_INVALID
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}

    def as_text(self) -> str:
        """The error on one line, for places without fields to attach messages to (admin messages,
        a command's error line): the message, then each field's messages unless it already says them."""
        details = "; ".join(
            f"{name}: {' '.join(map(str, messages if isinstance(messages, (list, tuple)) else [messages]))}"
            for name, messages in self.fields.items())
        return f"{self.message} {details}".strip() if details and details not in self.message else self.message


class NotFound(ApplicationError):
    code = ErrorCode.NOT_FOUND
    http_status = 404


class Conflict(ApplicationError):
    code = ErrorCode.CONFLICT
    http_status = 409


class PermissionDenied(ApplicationError):
    code = ErrorCode.PERMISSION_DENIED
    http_status = 403


class QuotaExceeded(ApplicationError):
    """A plan limit would be exceeded; nothing was written."""

    code = ErrorCode.QUOTA_EXCEEDED
    http_status = 403


def full_clean_or_raise(instance, message: str, *, error: type[ApplicationError] = ApplicationError,
                        code: str | None = None, **full_clean_kwargs) -> None:
    """``instance.full_clean(...)``, with Django's per-field errors turned into the ApplicationError
    every interface renders (API 400 with ``fields``, form errors, a command's one line): ``error``
    (an app's own subclass, for its code) or ``code`` say which."""
    try:
        instance.full_clean(**full_clean_kwargs)
    except ValidationError as exc:
        raise error(message, code=code, fields=exc.message_dict) from exc
