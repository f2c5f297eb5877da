"""Who is acting and from where, for the audit trail.

Entry points set it (middleware per request, API authentication, commands); services read it
when they write an audit entry, so a service signature needs only ``actor``.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

from django.conf import settings


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
    """The client address as the platform's own proxies saw it.

    ``X-Forwarded-For`` is read only when ``CDP_TRUST_PROXY`` says how many proxies of ours stand in
    front (``settings.CDP_TRUSTED_PROXY_HOPS``). Each proxy appends the address it was connected from,
    so with N proxies the N-th entry from the right is the one the outermost proxy saw; everything
    to its left was written by the client and can be anything (``X-Forwarded-For: 1.2.3.4`` sent by
    an attacker is the leftmost entry). With fewer entries than hops the header did not come through
    our proxies and the socket address is used."""
    hops = getattr(settings, "CDP_TRUSTED_PROXY_HOPS", 0)
    if hops:
        entries = [entry.strip() for entry in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if entry.strip()]
        if len(entries) >= hops:
            return entries[-hops]
    return meta.get("REMOTE_ADDR") or None


def actor_from_request(request) -> Actor:
    """The principal of an HTTP request: the API key (any ``request.auth`` that can say which actor
    it is, ``as_actor(ip=...)``), else the signed-in user, else anonymous; with the client address."""
    ip = client_ip(request.META)
    as_actor = getattr(getattr(request, "auth", None), "as_actor", None)
    if as_actor is not None:
        return as_actor(ip=ip)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Actor(label=user.email, user_id=user.pk, ip=ip)
    return Actor(label="anonymous", ip=ip)
