"""Pieces every service of the customers app uses: the current tenant's audit entry, the guard
against writing to a customer merged into another one, and what an empty value is and how a
value reads as change-log text (and back)."""

from __future__ import annotations

import datetime

from django.db import connection
from django_tenants.utils import get_public_schema_name

from cdp.context import Actor
from cdp.exceptions import Conflict
from cdp.ids import get_or_not_found
from customers.codes import ErrorCode
from customers.models import Customer
from tenants.services import audit_record


def audit(*, actor: Actor, action: str, resource_type: str, resource_id: object = "", changes: dict | None = None):
    """One audit entry of the tenant whose schema is in use (none outside a tenant's schema)."""
    tenant = getattr(connection, "tenant", None)
    return audit_record(actor=actor, action=action, resource_type=resource_type, resource_id=resource_id,
                        tenant=tenant if tenant is not None and tenant.schema_name != get_public_schema_name()
                        else None, changes=changes)


def customer_refuse_if_merged(customer: Customer, *, instead: str = "") -> Customer:
    """Refuse (409 ``customer_merged``) a write to a customer merged into another one: the survivor
    is the person now. ``instead`` says what to do ("pseudonymize that one")."""
    if customer.status == Customer.Status.MERGED and customer.merged_into_id:
        raise Conflict(f"This customer was merged into customer {customer.merged_into_id}"
                       + (f"; {instead}" if instead else "") + ".", code=ErrorCode.CUSTOMER_MERGED)
    return customer


def customer_current(customer_id, *, lock: bool = False) -> Customer:
    """The customer ``customer_id`` names (404 otherwise), refused when merged into another one."""
    return customer_refuse_if_merged(get_or_not_found(Customer, customer_id, "Customer not found.", lock=lock))


def empty(value) -> bool:
    """A value that says nothing: None, "", [] or {} (it never overwrites one that does)."""
    return value is None or value == "" or value == [] or value == {}


def as_text(value) -> str | None:
    """A field's value as the change log and undo snapshots keep it (dates in ISO 8601)."""
    if value is None:
        return None
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value)


def from_text(model, field: str, text: str | None):
    """The value of ``model.field`` that ``as_text`` wrote as ``text``."""
    return None if text is None else model._meta.get_field(field).to_python(text)
