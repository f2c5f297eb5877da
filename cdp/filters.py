"""Filter pieces shared by every app's FilterSets."""

from __future__ import annotations

import datetime

import django_filters
from django import forms
from django.forms.fields import DateTimeFormatsIterator
from django.utils.translation import gettext
from django_filters.fields import IsoDateTimeField
from rest_framework import exceptions, filters

from cdp.ids import MAX_ID
from cdp.widgets import LocalDateTimeInput

MAX_UTC_OFFSET = datetime.timedelta(hours=14)  # the widest real offset (Pacific/Kiritimati)


class _IsoThenLocalFormats:
    """ISO 8601 first (the API's documented form), then the active language's date and date-time
    input formats (01/03/2026 in es and pt-br), read when a value is parsed, not at import."""

    def __iter__(self):
        yield IsoDateTimeField.ISO_8601
        yield from DateTimeFormatsIterator()


class BoundedIsoDateTimeField(IsoDateTimeField):
    """ISO 8601, or a date in the reader's order, that PostgreSQL can store: real UTC offsets,
    years 1-9999. A value without an offset is in the active time zone (the tenant's on its host)."""

    widget = LocalDateTimeInput

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("input_formats", _IsoThenLocalFormats())
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        try:
            parsed = super().to_python(value)
        except (OverflowError, ValueError) as exc:
            raise forms.ValidationError(gettext("Enter a valid date."), code="invalid") from exc
        offset = parsed.utcoffset() if parsed is not None else None
        if offset is not None and abs(offset) > MAX_UTC_OFFSET:
            raise forms.ValidationError(gettext("The UTC offset must be between -14:00 and +14:00."), code="invalid")
        return parsed


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField


class IdFilter(django_filters.NumberFilter):
    """A whole positive id that fits a bigint (``cdp.ids.MAX_ID``): anything else is a 400 on the
    field, never a database error."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class SearchFilter(filters.SearchFilter):
    """``?search=``, documented only where it does something (DRF's documents it on every list, even
    where ``search_fields`` is empty and the parameter is ignored). A view searches either with
    ``search_fields`` (DRF's ``icontains`` over them) or with a ``search_function(queryset, text)``
    of its own (customers: accent-insensitive word prefixes on an index, customers/search.py)."""

    def filter_queryset(self, request, queryset, view):
        function = getattr(view, "search_function", None)
        if function is None:
            return super().filter_queryset(request, queryset, view)
        return function(queryset, request.query_params.get(self.search_param, ""))

    def get_schema_operation_parameters(self, view):
        if getattr(view, "search_function", None) is None and not getattr(view, "search_fields", None):
            return []
        parameters = super().get_schema_operation_parameters(view)
        description = getattr(view, "search_description", None)
        for parameter in parameters:
            if description:
                parameter["description"] = description
        return parameters


class StrictOrderingFilter(filters.OrderingFilter):
    """DRF's ordering, but a term outside the view's ``ordering_fields`` is refused (400) instead of
    silently ignored, so a client never takes a default order for the one it asked for."""

    def get_ordering(self, request, queryset, view):
        params = request.query_params.get(self.ordering_param)
        if params:
            terms = [term.strip() for term in params.split(",") if term.strip()]
            allowed = [name for name, _ in self.get_valid_fields(queryset, view, {"request": request})]
            unknown = [term for term in terms if term.lstrip("-") not in allowed]
            if unknown:
                raise exceptions.ValidationError({self.ordering_param: [
                    f"Cannot sort by {', '.join(unknown)}. "
                    + (f"Sort by one of: {', '.join(allowed)}." if allowed else "This list has a fixed order.")]})
        return total_ordering(super().get_ordering(request, queryset, view), queryset.model)


def total_ordering(ordering, model) -> tuple:
    """``ordering`` ended with the primary key (in the first term's direction) unless it already
    names it: rows that tie on the other terms keep one order from request to request, so page
    numbers and cursors neither skip nor repeat them."""
    if not ordering:
        return ordering
    ordering = tuple(ordering)
    names = {"pk", model._meta.pk.name, model._meta.pk.attname}
    if any(isinstance(term, str) and term.lstrip("-") in names for term in ordering):
        return ordering
    first = ordering[0]
    descending = first.startswith("-") if isinstance(first, str) else getattr(first, "descending", False)
    return (*ordering, "-pk" if descending else "pk")
