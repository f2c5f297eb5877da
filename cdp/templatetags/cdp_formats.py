"""``{% load cdp_formats %}``: money and numbers in the reader's language (cdp/formats.py)."""

from __future__ import annotations

from django import template
from django.db import connection

from cdp.formats import format_money, format_number, format_percent

register = template.Library()


def tenant_currency() -> str:
    """The current tenant's currency setting (USD on the platform host)."""
    tenant = getattr(connection, "tenant", None)
    setting = getattr(tenant, "setting", None)
    return str(setting("currency")) if callable(setting) else "USD"


@register.filter
def money(amount, currency: str = ""):
    """``{{ order.total_amount|money:order.currency }}``; without a currency, the tenant's."""
    return format_money(amount, currency or tenant_currency())


@register.filter
def number(value, decimals=None):
    """``{{ n|number }}`` or ``{{ ratio|number:2 }}``: grouped, in the reader's separators."""
    try:
        digits = None if decimals in (None, "") else int(decimals)
    except (TypeError, ValueError):
        digits = None
    return format_number(value, digits)


@register.filter
def percent(ratio, signed=""):
    """``{{ 0.125|percent }}`` is "12,5 %" in es; ``{{ change|percent:"signed" }}`` is "+12,5 %"."""
    return format_percent(ratio, signed=bool(signed))
