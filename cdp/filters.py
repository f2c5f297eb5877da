"""Filter pieces shared by every app's FilterSets."""

from __future__ import annotations

import datetime

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField
from rest_framework import exceptions, filters

from cdp.ids import MAX_ID

MAX_UTC_OFFSET = datetime.timedelta(hours=14)  # the widest real offset (Pacific/Kiritimati)


class BoundedIsoDateTimeField(IsoDateTimeField):
    """ISO 8601 date-time that PostgreSQL can store: real UTC offsets, years 1-9999."""

    def to_python(self, value):
        try:
            parsed = super().to_python(value)
        except (OverflowError, ValueError) as exc:
            raise forms.ValidationError("Enter a valid ISO 8601 date-time.", code="invalid") from exc
        offset = parsed.utcoffset() if parsed is not None else None
        if offset is not None and abs(offset) > MAX_UTC_OFFSET:
            raise forms.ValidationError("The UTC offset must be between -14:00 and +14:00.", code="invalid")
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
        return super().get_ordering(request, queryset, view)
