"""A sign-in session's browser and system as people name them ("Chrome 120 · Windows 10"), with
ua-parser (the maintained Python port of the uap-core rules) instead of the raw User-Agent."""

from __future__ import annotations

import functools

from ua_parser import parse


@functools.lru_cache(maxsize=1024)
def user_agent_label(user_agent: str) -> str:
    """"Chrome 120 · Windows 10"; "" for an empty string; the raw string (cut) when unrecognised."""
    text = (user_agent or "").strip()
    if not text:
        return ""
    result = parse(text[:1000])
    parts = []
    if result.user_agent and result.user_agent.family != "Other":
        parts.append(" ".join(filter(None, (result.user_agent.family, result.user_agent.major))))
    if result.os and result.os.family != "Other":
        parts.append(" ".join(filter(None, (result.os.family, result.os.major))))
    if parts:
        return " · ".join(parts)
    return text if len(text) <= 60 else f"{text[:59]}…"
