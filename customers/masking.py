"""Masking of personal data by role: the one place that decides how e-mail, phone and document
numbers look to someone who does not hold the ``unmask`` capability (tenants/roles.py).

Every interface that shows a customer to a person or a key goes through here: the API
serializers (``MaskingSerializerMixin``), the portal views (``mask_customer`` on the instances
they render, so any template field is covered), the tenant admin and every export (CSV, the
data-subject export). Analytics, matching and ingest never call it: they work on the real values.

Masked values are for display only. ``mask_customer`` marks the instance so that it can never be
saved back (``MaskedInstanceError``): a masked e-mail written to the database would be data loss.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection

from tenants.api.permissions import request_capabilities
from tenants.roles import SENSITIVE, UNMASK
from tenants.selectors import user_capabilities

MASK = "***"
#: Customer fields whose values are masked (without ``unmask``).
MASKED_FIELDS = ("email", "phone", "document_number")
#: Sensitive fields hidden altogether (None) without the ``sensitive`` capability
#: (customers.field_permissions decides who may change them).
SENSITIVE_FIELDS = ("document_type", "document_number", "birth_date", "notes")


def mask_email(value: str | None) -> str | None:
    """``ana.silva@dominio.com`` -> ``a***@d***.com``: first letter of the local part and of the
    domain, and the top-level domain (enough to tell two addresses apart, not to write to one)."""
    if not value:
        return value
    local, _, domain = str(value).partition("@")
    if not domain:
        return f"{local[:1]}{MASK}"
    host, dot, tld = domain.rpartition(".")
    if not dot:
        host, tld = domain, ""
    return f"{local[:1]}{MASK}@{host[:1]}{MASK}{'.' + tld if tld else ''}"


def _last4(value: str) -> str:
    digits = "".join(ch for ch in str(value) if ch.isalnum())
    # Short values would be revealed by their last four: show only the last one or none.
    if len(digits) <= 4:
        return digits[-1:] if len(digits) > 2 else ""
    return digits[-4:]


def mask_phone(value: str | None) -> str | None:
    """``+5511987654725`` -> ``***-**-4725``."""
    if not value:
        return value
    return f"{MASK}-**-{_last4(value)}"


def mask_document(value: str | None) -> str | None:
    """``123.456.789-25`` / ``30111222`` -> ``***-**-1222``."""
    if not value:
        return value
    return f"{MASK}-**-{_last4(value)}"


MASKERS = {"email": mask_email, "phone": mask_phone, "document_number": mask_document}


def mask_value(field: str, value: Any) -> Any:
    """The masked form of ``value`` if ``field`` is a masked field; the value itself otherwise."""
    masker = MASKERS.get(field)
    return masker(value) if masker is not None and isinstance(value, str) else value


class Visibility:
    """What one reader may see: ``unmask`` (full e-mail, phone, document) and ``sensitive``
    (document, birth date, notes at all). Built from the reader's capabilities."""

    __slots__ = ("unmask", "sensitive")

    def __init__(self, *, unmask: bool, sensitive: bool):
        self.unmask = unmask
        self.sensitive = sensitive

    @classmethod
    def of(cls, capabilities: Iterable[str]) -> Visibility:
        caps = frozenset(capabilities)
        return cls(unmask=UNMASK in caps, sensitive=SENSITIVE in caps)

    @property
    def is_full(self) -> bool:
        return self.unmask and self.sensitive

    def __repr__(self) -> str:
        return f"Visibility(unmask={self.unmask}, sensitive={self.sensitive})"


#: Nothing in full: the default when the reader is unknown (fail closed).
MASKED = Visibility(unmask=False, sensitive=False)
FULL = Visibility(unmask=True, sensitive=True)


def mask_field(field: str, value: Any, visibility: Visibility) -> Any:
    """The value of a customer's ``field`` as ``visibility`` may see it."""
    if not visibility.sensitive and field in SENSITIVE_FIELDS:
        return None if field in ("birth_date", "document_number") else ""
    if not visibility.unmask:
        return mask_value(field, value)
    return value


def mask_dict(data: dict, visibility: Visibility, *, fields: Iterable[str] | None = None) -> dict:
    """``data`` (a customer's fields by name) with each masked/hidden field replaced in place."""
    if visibility.is_full:
        return data
    # Each field once: the document is both masked and sensitive, and masking a masked value
    # again showed "***-**-9" instead of "***-**-4725".
    for field in dict.fromkeys(fields if fields is not None else (*MASKED_FIELDS, *SENSITIVE_FIELDS)):
        if field in data:
            data[field] = mask_field(field, data[field], visibility)
    return data


class MaskedInstanceError(RuntimeError):
    """A masked (display-only) model instance was about to be saved."""


def _refuse_save(*args, **kwargs):
    raise MaskedInstanceError("A masked customer is for display only and cannot be saved.")


def mask_customer(customer, visibility: Visibility):
    """Mask a Customer (or Address) instance in memory for display, and make it unsaveable.
    Returns the instance; does nothing for a reader who sees everything."""
    if customer is None or visibility.is_full:
        return customer
    for field in dict.fromkeys((*MASKED_FIELDS, *SENSITIVE_FIELDS)):  # each once (see mask_dict)
        if hasattr(customer, field):
            setattr(customer, field, mask_field(field, getattr(customer, field), visibility))
    customer.save = _refuse_save
    customer._cdp_masked = True
    return customer


def mask_change(change, visibility: Visibility):
    """Mask a change-log entry's old/new values when they are of a masked or hidden field."""
    if change is None or visibility.is_full:
        return change
    field = getattr(change, "field", None)
    if field in MASKED_FIELDS or field in SENSITIVE_FIELDS:
        for attr in ("old_value", "new_value"):
            value = getattr(change, attr)
            if value is None:
                continue
            hidden = mask_field(field, value, visibility)
            setattr(change, attr, MASK if hidden in (None, "") else hidden)
        change.save = _refuse_save
    return change


def change_values(field: str, old: Any, new: Any, visibility: Visibility) -> tuple[Any, Any]:
    """A change log's (old, new) as ``visibility`` may see them."""
    if visibility.is_full or (field not in MASKED_FIELDS and field not in SENSITIVE_FIELDS):
        return old, new

    def one(value):
        if value is None:
            return None
        hidden = mask_field(field, value, visibility)
        return MASK if hidden in (None, "") else hidden

    return one(old), one(new)


def request_visibility(request) -> Visibility:
    """What the caller of a request may see: its API key's scopes or its member's role (the same
    capabilities the permission checks use). Unknown callers see everything masked."""
    if request is None:
        return MASKED
    # tenants.api.permissions caches the capabilities on the request; the portal's gate sets
    # ``request.capabilities``; the tenant admin and anything else ask once.
    caps = getattr(request, "capabilities", None)
    if caps is None:
        caps = _capabilities_of(request)
    return Visibility.of(caps)


def _capabilities_of(request) -> frozenset[str]:
    tenant = getattr(connection, "tenant", None)
    if tenant is None or tenant.schema_name == "public":
        return frozenset()
    if hasattr(request, "auth"):  # a DRF request: the key's scopes or the member's role, cached
        return request_capabilities(request)
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return frozenset()
    caps = user_capabilities(user=user, tenant=tenant)
    request.capabilities = caps
    return caps


def context_visibility(context: dict) -> Visibility:
    """The visibility of a serializer's reader: ``context["visibility"]`` if an interface set it,
    else derived once from ``context["request"]`` and remembered in the (root's) context."""
    visibility = context.get("visibility")
    if visibility is None:
        visibility = request_visibility(context.get("request"))
        context["visibility"] = visibility
    return visibility


class MaskingSerializerMixin:
    """Output serializers of customer data: masks ``masked_fields`` (and hides the sensitive ones)
    for a reader without ``unmask`` / ``sensitive``. A serializer built without a request or a
    ``visibility`` in its context masks everything (fail closed)."""

    masked_fields: tuple[str, ...] = (*MASKED_FIELDS, *SENSITIVE_FIELDS)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        return mask_dict(data, context_visibility(self.context), fields=self.masked_fields)


class MaskingChangeSerializerMixin:
    """Change-log output: old/new values of masked or hidden fields follow the same rule."""

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["old_value"], data["new_value"] = change_values(
            data.get("field"), data.get("old_value"), data.get("new_value"), context_visibility(self.context))
        return data


def mask_address_json(value):
    """A JSON address (an order's shipping address) with its contact values masked: keys naming an
    e-mail, phone or document keep only their masked form."""
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        name = str(key).lower()
        if isinstance(item, str) and "mail" in name:
            out[key] = mask_email(item)
        elif isinstance(item, str) and ("phone" in name or "document" in name or "cpf" in name or "dni" in name):
            out[key] = mask_phone(item)
        else:
            out[key] = item
    return out
