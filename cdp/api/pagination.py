"""The API's pagination: page numbers with a cheap count, or cursors for deep and large lists.

- Page numbers (``?page=``, ``?page_size=`` up to 500), as always: ``count``, ``next``,
  ``previous``, ``results``. The count is exact up to ``CDP_EXACT_COUNT_LIMIT`` rows and an
  estimate past it (``count_estimated: true``; ``cdp.pagination``). A deep page still costs an
  ``OFFSET`` over every row before it.
- Cursors (``?cursor=``, empty for the first page; then follow ``next``/``previous``): no count,
  and every page costs the same however deep (the cursor holds the key of the row to continue
  from, an index range scan instead of an ``OFFSET``). The order is the view's (or
  ``?ordering=``), made total with the id; its fields must never be empty (a 400 on ``ordering``
  says which can). With a search, a cursor list keeps the list's order rather than the search's
  ranking.
"""

from __future__ import annotations

import base64
import datetime
import json
import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import DecimalField, IntegerField, Q
from rest_framework import exceptions
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from cdp.filters import total_ordering
from cdp.ids import MAX_ID
from cdp.pagination import EstimatedCountPaginator

PAGE_SIZE_PARAM = "page_size"
MAX_PAGE_SIZE = 500


def _storable(field, value) -> bool:
    """``value`` fits ``field``'s column (a number the database would refuse to compare is not)."""
    if isinstance(field, IntegerField):
        return abs(value) <= MAX_ID
    if isinstance(field, DecimalField):
        return value.is_finite() and abs(value) < Decimal(10) ** (field.max_digits - field.decimal_places)
    return True


class Cursors(CursorPagination):
    """Keyset pages in the view's order (see the module docstring), on DRF's ``CursorPagination``
    (page size, links, response, schema). A cursor holds the values of every ordering term of the
    row it continues from, not only the first term's with an offset as DRF's own does: with DRF's,
    rows tying on the first term are skipped by an offset (capped at 1,000 rows) and a page whose
    rows all tie has no working ``previous`` link. The next page is the rows after that key in
    the total order (``cdp.filters.total_ordering``), with a bound on the first term that lets
    PostgreSQL start an index scan at the key: every page costs the same at any depth."""

    page_size_query_param = PAGE_SIZE_PARAM
    max_page_size = MAX_PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        self.model = queryset.model
        self.ordering = self.get_ordering(request, queryset, view)
        self.fields = [self._field(term.lstrip("-")) for term in self.ordering]
        key, reverse = self.decode_cursor(request)
        order = [_flip(term) for term in self.ordering] if reverse else list(self.ordering)
        queryset = queryset.order_by(*order)
        if key is not None:
            queryset = queryset.filter(self._after(key, order))
        rows = list(queryset[:self.page_size + 1])
        more = len(rows) > self.page_size
        rows = rows[:self.page_size]
        if reverse:
            rows.reverse()
        self.page = rows
        if not rows:
            self.next_key = self.previous_key = None
        elif reverse:
            self.next_key, self.previous_key = self._key(rows[-1]), (self._key(rows[0]) if more else None)
        else:
            self.next_key = self._key(rows[-1]) if more else None
            self.previous_key = self._key(rows[0]) if key is not None else None
        return rows

    def _field(self, name: str):
        meta = self.model._meta
        name = meta.pk.name if name == "pk" else name
        return next((f for f in meta.concrete_fields if f.name == name or f.attname == name), None)

    def _key(self, row) -> list:
        return [getattr(row, field.attname) for field in self.fields]

    def _after(self, key: list, order: list[str]) -> Q:
        """Rows after ``key`` in ``order``: (t1 > k1) or (t1 = k1 and t2 > k2) or ..., each ``>``
        a ``<`` for a descending term, and t1 >= k1 beside it for the index."""
        names = [term.lstrip("-") for term in order]
        after = Q()
        for index, term in enumerate(order):
            step = Q(**{f"{names[i]}": key[i] for i in range(index)})
            step &= Q(**{f"{names[index]}__{'lt' if term.startswith('-') else 'gt'}": key[index]})
            after |= step
        bound = Q(**{f"{names[0]}__{'lte' if order[0].startswith('-') else 'gte'}": key[0]})
        return bound & after

    def encode_cursor(self, key: list, reverse: bool) -> str:
        body = json.dumps({"k": [_plain(value) for value in key], "r": int(reverse)}, separators=(",", ":"))
        return replace_query_param(self.base_url, self.cursor_query_param,
                                   base64.urlsafe_b64encode(body.encode()).decode().rstrip("="))

    def decode_cursor(self, request) -> tuple[list | None, bool]:
        """(key, reverse) of ``?cursor=``; empty is the first page. A cursor that is not one of ours
        for this order (made up, or from another ``?ordering=``) is a 404, never a database error."""
        encoded = request.query_params.get(self.cursor_query_param, "")
        if not encoded:
            return None, False
        try:
            body = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
            key, reverse = body["k"], bool(body.get("r"))
            if not isinstance(key, list) or len(key) != len(self.fields):
                raise ValueError("wrong length")
            key = [field.to_python(value) for field, value in zip(self.fields, key, strict=True)]
        except (ValueError, TypeError, KeyError, AttributeError, DjangoValidationError):
            raise exceptions.NotFound(self.invalid_cursor_message) from None
        if any(value is None or not _storable(field, value) for field, value in zip(self.fields, key, strict=True)):
            raise exceptions.NotFound(self.invalid_cursor_message)
        return key, reverse

    def get_next_link(self):
        return None if self.next_key is None else self.encode_cursor(self.next_key, False)

    def get_previous_link(self):
        return None if self.previous_key is None else self.encode_cursor(self.previous_key, True)

    def get_ordering(self, request, queryset, view):
        ordering = total_ordering(super().get_ordering(request, queryset, view), queryset.model)
        self.model = queryset.model
        empty = [term.lstrip("-") for term in ordering
                 if (field := self._field(term.lstrip("-"))) is None or field.null]
        if empty:
            usable = [name for name in getattr(view, "ordering_fields", ()) or ()
                      if (field := self._field(name)) is not None and not field.null]
            raise exceptions.ValidationError({"ordering": [
                f"Cursor pages cannot order by {', '.join(empty)}: it may be empty. "
                + (f"Sort by one of: {', '.join(usable)}." if usable else "Use page numbers for this order.")]})
        return ordering


def _plain(value):
    """A key value as JSON keeps it exactly (DjangoJSONEncoder would cut microseconds)."""
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    return value


def _flip(term: str) -> str:
    return term[1:] if term.startswith("-") else f"-{term}"


class Pagination(PageNumberPagination):
    """Page numbers with a bounded count, or cursors with ``?cursor=`` (module docstring)."""

    page_size_query_param = PAGE_SIZE_PARAM
    max_page_size = MAX_PAGE_SIZE
    django_paginator_class = EstimatedCountPaginator
    cursor_query_param = "cursor"

    def paginate_queryset(self, queryset, request, view=None):
        # An unordered queryset pages inconsistently (rows skipped or repeated between pages).
        if hasattr(queryset, "ordered") and not queryset.ordered:
            raise AssertionError(f"{view.__class__.__name__} paginates an unordered queryset")
        self.cursors = None
        if self.cursor_query_param in request.query_params and hasattr(queryset, "query"):
            self.cursors = Cursors()
            return self.cursors.paginate_queryset(queryset, request, view)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        if self.cursors is not None:
            return self.cursors.get_paginated_response(data)
        return Response({
            "count": self.page.paginator.count,
            "count_estimated": self.page.paginator.count_estimated,
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
            "results": data,
        })

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "count": {"type": "integer", "example": 123,
                          "description": "Page numbers only: the rows of the list, estimated past "
                                         "CDP_EXACT_COUNT_LIMIT (see count_estimated)."},
                "count_estimated": {"type": "boolean",
                                    "description": "Page numbers only: count is the planner's estimate."},
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [*super().get_schema_operation_parameters(view), {
            "name": self.cursor_query_param, "required": False, "in": "query",
            "description": "Cursor pages: empty for the first page, then follow next/previous (no count; "
                           "any depth at the same cost). Without it, page numbers.",
            "schema": {"type": "string"},
        }]
