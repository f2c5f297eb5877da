"""Counts that stay cheap on large tables, for every paginated list (API, portal, admin).

An exact ``COUNT(*)`` reads every row the filters keep: on 5,000,000 orders it is most of a list
request's time. ``bounded_count`` asks PostgreSQL's own estimate of the filtered query first, the
"Plan Rows" of ``EXPLAIN`` (for an unfiltered table, the planner's ``pg_class.reltuples`` scaled to
the table's current size; no row is read): at or past a limit (``CDP_EXACT_COUNT_LIMIT``) that is
the count. Below it the rows are counted exactly, reading at most the limit's worth. Small lists
keep exact counts; a large one says it is an estimate (``count_estimated`` in the API).
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

#: Used when the settings do not say (cdp/settings/base.py reads CDP_EXACT_COUNT_LIMIT).
DEFAULT_EXACT_COUNT_LIMIT = 10_000


def exact_count_limit() -> int:
    return int(getattr(settings, "CDP_EXACT_COUNT_LIMIT", DEFAULT_EXACT_COUNT_LIMIT))


def estimated_count(queryset) -> int:
    """The planner's estimate of how many rows ``queryset`` returns (no row is read)."""
    queryset = queryset.order_by()
    try:
        sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    except EmptyResultSet:  # a filter that can match nothing (``pk__in=[]``, ``.none()``)
        return 0
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])


def bounded_count(queryset, limit: int | None = None) -> tuple[int, bool]:
    """``(count, estimated)``. The planner's estimate first (no row read): at or past ``limit`` it
    is the answer. Below it the rows are counted, stopping one row past ``limit`` (an estimate
    that was too low costs at most that many rows), and a count past ``limit`` answers the larger
    of the two, flagged as an estimate."""
    limit = exact_count_limit() if limit is None else limit
    estimate = estimated_count(queryset)
    if estimate >= limit:
        return estimate, True
    counted = queryset.order_by().values("pk")[:limit + 1].count()
    if counted <= limit:
        return counted, False
    return max(estimate, counted), True


class EstimatedCountPaginator(Paginator):
    """Django's paginator with ``bounded_count`` (``count_estimated`` says which kind of count).
    Past the estimate's end a page is empty rather than a 404: the estimate may be high."""

    @cached_property
    def _bounded(self) -> tuple[int, bool]:
        if not hasattr(self.object_list, "query"):  # a list, not a queryset
            return len(self.object_list), False
        return bounded_count(self.object_list)

    @cached_property
    def count(self) -> int:
        return self._bounded[0]

    @property
    def count_estimated(self) -> bool:
        return self._bounded[1]
