"""Date inputs in the reader's order. A browser's ``<input type="date">`` shows the order of the
browser's own locale (mm/dd/yyyy on most laptops, whatever the portal's language), and ISO-only
text fields make people type 2026-03-01: these are text inputs that accept the active language's
formats (Django's DATE_INPUT_FORMATS: 01/03/2026 in es and pt-br) as well as ISO 8601, show their
value in that order and say which order in the placeholder."""

from __future__ import annotations

from django import forms
from django.utils import formats
from django.utils.translation import gettext

_PARTS = {"%d": "dd", "%m": "mm", "%Y": "yyyy", "%y": "yy", "%H": "hh", "%M": "mm"}


def date_pattern_hint() -> str:
    """The active language's first date input format for people: "dd/mm/yyyy" (translated letters)."""
    pattern = formats.get_format("DATE_INPUT_FORMATS")[0]
    letters = {"dd": gettext("dd"), "mm": gettext("mm"), "yyyy": gettext("yyyy"), "yy": gettext("yy")}
    for code, part in _PARTS.items():
        pattern = pattern.replace(code, letters.get(part, part))
    return pattern


class LocalDateInput(forms.DateInput):
    """A text date input in the active language's order (the field should be ``localize=True``)."""

    input_type = "text"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"].setdefault("placeholder", date_pattern_hint())
        context["widget"]["attrs"].setdefault("inputmode", "numeric")
        return context

    def format_value(self, value):
        # Dates in the first input format of the language (the order people type), not DATE_FORMAT.
        if hasattr(value, "strftime"):
            return value.strftime(formats.get_format("DATE_INPUT_FORMATS")[0])
        return super().format_value(value)


class LocalDateTimeInput(LocalDateInput):
    """The same for a date-time filter bound: people type a date; a time is accepted too."""
