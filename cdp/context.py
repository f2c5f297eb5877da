"""Who is acting and from where, for the audit trail.

Entry points set it (middleware per request, API authentication, commands); services read it
when they write an audit entry, so a service signature needs only ``actor``.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """The principal behind a write: a user, an API key, a command or the system."""

    label: str
    user_id: int | None = None
    api_key_id: int | None = None
    ip: str | None = None

    @classmethod
    def system(cls, label: str = "system") -> "Actor":
        return cls(label=label)


_request_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("cdp_request_ip", default=None)


def set_request_ip(ip: str | None) -> contextvars.Token:
    return _request_ip.set(ip)


def reset_request_ip(token: contextvars.Token) -> None:
    _request_ip.reset(token)


def request_ip() -> str | None:
    return _request_ip.get()


def client_ip(meta: dict) -> str | None:
    """The client address; ``X-Forwarded-For`` is trusted only when CDP_TRUST_PROXY is on."""
    import os

    if os.environ.get("CDP_TRUST_PROXY", "").lower() in {"1", "true", "yes"}:
        forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return meta.get("REMOTE_ADDR") or None
