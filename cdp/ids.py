"""Object ids from the outside world (URL segments, query strings, JSON bodies), parsed one way.

``str.isdigit()`` accepts characters ``int()`` refuses (``"²"``) and numbers past PostgreSQL's
``bigint``; both used to reach the database or ``int()`` and answer 500. An id here is ASCII
digits only, at most ``MAX_ID``."""

from __future__ import annotations

import re

from cdp.exceptions import NotFound

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


class IdConverter:
    """``<id:pk>`` in URL patterns: ASCII digits that fit a bigint, so a path can never carry an id
    the database would refuse with an error (Django's ``<int:>`` takes any number of digits)."""

    regex = ID_PATTERN

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValueError(f"{value!r} is not an id")  # the URL does not match: 404
        return number

    def to_url(self, value) -> str:
        return str(int(value))


def get_or_not_found(queryset, pk, message: str = "Not found.", *, lock: bool = False):
    """The row of ``queryset`` (a model or a queryset) whose primary key ``pk`` names, or
    ``cdp.exceptions.NotFound(message)``: for an id that cannot exist (``parse_id``) without a query.
    ``lock`` takes the row with ``SELECT ... FOR UPDATE`` (inside the caller's transaction)."""
    number = parse_id(pk)
    if number is not None:
        rows = queryset._default_manager.all() if isinstance(queryset, type) else queryset
        if lock:
            rows = rows.select_for_update()
        found = rows.filter(pk=number).first()
        if found is not None:
            return found
    raise NotFound(message)
