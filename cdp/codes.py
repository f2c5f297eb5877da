"""The kit's own stable vocabulary: the error codes of ``cdp.exceptions``' base classes and of the
kit's interfaces (API errors, outbound requests). Apps keep theirs in ``<app>/codes.py``.

The values are part of the API's documented contract (``{"error": {"code": ...}}``): they never
change. Members read ``SUBJECT_PROBLEM``.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    CONFLICT = "conflict"
    CREDENTIALS_KEY_INVALID = "bad_credentials_key"  # CDP_CREDENTIALS_KEYS holds a key that is not Fernet's
    CREDENTIALS_UNREADABLE = "credentials_unreadable"  # not decryptable with the configured keys
    INPUT_INVALID = "invalid"
    NOT_FOUND = "not_found"
    PERMISSION_DENIED = "permission_denied"
    QUOTA_EXCEEDED = "quota_exceeded"
    SERVER_ERROR = "server_error"
    URL_UNSAFE = "unsafe_url"
