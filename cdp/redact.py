"""Text safe to keep or show where secrets must not go (admin history, messages, logs).

URLs given to us by tenants (webhook endpoints, CRM base URLs) carry tokens in the user info, the
path or the query (``https://hooks.example/services/T0/B0/XXXX``, ``?token=...``); only the scheme
and host identify them to a person, so only those are kept."""

from __future__ import annotations

import re

#: scheme://[user[:password]@]host[:port][/path][?query][#fragment]
URL_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{1,15}://)(?:[^\s/@?#]*@)?([^\s/?#:@]+)(?::\d+)?([^\s]*)")


def url_redact(text) -> str:
    """``text`` with every URL reduced to ``scheme://host`` (plus ``/…`` when something followed)."""
    return URL_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}" + ("/…" if m.group(3) else ""), str(text or ""))


def urls_redact(value):
    """``value`` (text, or lists and dicts of them, as audit ``changes`` are) with every URL in it
    reduced by ``url_redact``; other values as they were."""
    if isinstance(value, str):
        return url_redact(value)
    if isinstance(value, (list, tuple)):
        return [urls_redact(item) for item in value]
    if isinstance(value, dict):
        return {key: urls_redact(item) for key, item in value.items()}
    return value


EMAIL_RE = re.compile(r"(?i)[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}")
#: Six or more digits, possibly split by spaces, dots, dashes or slashes: phones, documents, cards.
LONG_NUMBER_RE = re.compile(r"\+?\d(?:[\s./-]?\d){5,}")


def personal_redact(text) -> str:
    """``text`` as an operator may read it in error reports: URLs reduced (``url_redact``),
    e-mail addresses and long numbers (phones, documents, card numbers) masked. Error messages
    quote the values that failed (``Key (email)=(ana@example.com) already exists``)."""
    text = url_redact(text)
    text = EMAIL_RE.sub("[email]", text)
    return LONG_NUMBER_RE.sub("[number]", text)
