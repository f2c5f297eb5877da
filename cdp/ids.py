"""Object ids from the outside world (URL segments, query strings, JSON bodies), parsed one way.

``str.isdigit()`` accepts characters ``int()`` refuses (``"²"``) and numbers past PostgreSQL's
``bigint``; both used to reach the database or ``int()`` and answer 500. An id here is ASCII
digits only, at most ``MAX_ID``."""

from __future__ import annotations

import re

# PostgreSQL bigint (Django's BigAutoField), the largest primary key any table can hold.
MAX_ID = 2**63 - 1
ID_PATTERN = r"[0-9]{1,19}"
_ID_RE = re.compile(rf"\A{ID_PATTERN}\Z")


def parse_id(value) -> int | None:
    """The id ``value`` names, or None when it cannot name a row (not ASCII digits, or too large)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= MAX_ID else None
    if not isinstance(value, str) or not _ID_RE.match(value):
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None
