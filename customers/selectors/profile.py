"""Reads of customers: the list for the API and the portal, one customer, its addresses and
change log, and the Customer 360."""

from __future__ import annotations

import decimal
import json
import logging

from django.db import connection
from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime

from cdp.exceptions import NotFound
from cdp.ids import get_or_not_found, parse_id
from customers import registry
from customers.models import (
    Address,
    CreditAccount,
    Customer,
    CustomerChangeLog,
    CustomerIdentity,
    CustomerListView,
    Order,
)
from customers.selectors.sales import counted_statuses

logger = logging.getLogger(__name__)
RECENT_ORDERS = 5


def customer_list() -> QuerySet[Customer]:
    """Every customer, newest first (filters narrow it; merged ones are kept and say so)."""
    return Customer.objects.all().order_by("-id")


def customer_views_of(*, user_id: int):
    """A person's saved views of the customer list, by name."""
    return CustomerListView.objects.filter(user_id=user_id).order_by("name", "id")


def customer_count() -> int:
    """How many people the tenant knows (merged records are part of their survivor): what the
    plan's customer limit counts."""
    return Customer.objects.exclude(status=Customer.Status.MERGED).count()


def customer_get(*, customer_id) -> Customer:
    return get_or_not_found(Customer, customer_id, "Customer not found.")


_360_SQL = f"""
SELECT
  to_json(c), to_json(k),
  (SELECT coalesce(json_agg(i ORDER BY i.source, i.external_id), '[]')
     FROM (SELECT id, source, external_id, created_at, last_seen_at
             FROM {CustomerIdentity._meta.db_table} WHERE customer_id = %(id)s) i),
  (SELECT coalesce(json_agg(a ORDER BY a.address_type, a.is_default DESC, a.id), '[]')
     FROM (SELECT id, address_type, recipient_name, line1, line2, number, neighborhood, city, state, postal_code,
                  country, phone, is_default, is_active, source, created_at, updated_at
             FROM {Address._meta.db_table} WHERE customer_id = %(id)s) a),
  (SELECT coalesce(json_agg(o ORDER BY o.order_date DESC, o.id DESC), '[]')
     FROM (SELECT id, customer_id, source, external_order_id, order_number, order_date, status, currency, subtotal,
                  tax_amount, shipping_cost, discount_amount, total_amount, payment_method, payment_status,
                  shipping_method, created_at, updated_at
             FROM {Order._meta.db_table} WHERE customer_id = %(id)s
            ORDER BY order_date DESC, id DESC LIMIT %(recent)s) o),
  (SELECT coalesce(json_agg(s ORDER BY s.orders DESC, s.source), '[]')
     FROM (SELECT source, count(*) AS orders,
                  count(*) FILTER (WHERE status = ANY(%(counted)s)) AS counted,
                  count(*) FILTER (WHERE status = %(cancelled)s) AS cancelled,
                  count(*) FILTER (WHERE status = %(refunded)s) AS refunded,
                  sum(total_amount) FILTER (WHERE status = %(refunded)s) AS refunded_amount,
                  sum(total_amount) FILTER (WHERE status = ANY(%(counted)s)) AS spent,
                  min(order_date) AS first_order_at, max(order_date) AS last_order_at
             FROM {Order._meta.db_table} WHERE customer_id = %(id)s GROUP BY source) s)
  FROM {Customer._meta.db_table} c
  LEFT JOIN {CreditAccount._meta.db_table} k ON k.customer_id = c.id
 WHERE c.id = %(id)s
"""
_DATETIME_KEYS = ("created_at", "updated_at", "last_seen_at", "order_date", "first_order_at", "last_order_at")


def customer_360_row(customer_id: int) -> tuple | None:
    """The Customer 360's one round trip: the customer and its credit account (``to_json`` rows) and, as JSON lists, its identities, addresses, recent orders and per-source order stats."""
    with connection.cursor() as cursor:
        cursor.execute(_360_SQL, {"id": customer_id, "recent": RECENT_ORDERS, "counted": list(counted_statuses()),
                                  "cancelled": Order.Status.CANCELLED, "refunded": Order.Status.REFUNDED})
        return cursor.fetchone()


def _rows(text) -> list[dict]:
    rows = json.loads(text, parse_float=decimal.Decimal) if isinstance(text, str) else (text or [])
    for row in rows:
        for key in _DATETIME_KEYS:
            if row.get(key):
                row[key] = parse_datetime(row[key])
    return rows


def _stats(by_source: list[dict]) -> dict:
    def total(key):
        values = [row[key] for row in by_source if row[key] is not None]
        return sum(values) if values else None

    firsts = [row["first_order_at"] for row in by_source if row["first_order_at"]]
    lasts = [row["last_order_at"] for row in by_source if row["last_order_at"]]
    return {
        "orders": sum(row["orders"] for row in by_source),
        "counted": sum(row["counted"] for row in by_source),
        "cancelled": sum(row["cancelled"] for row in by_source),
        "refunded": sum(row["refunded"] for row in by_source),
        "refunded_amount": total("refunded_amount"),
        "first_order_at": min(firsts) if firsts else None,
        "last_order_at": max(lasts) if lasts else None,
        "by_source": [{"source": row["source"], "orders": row["orders"], "spent": row["spent"]} for row in by_source],
    }


def customer_360(*, customer_id, sections: bool = True) -> dict:
    """Everything customers knows about one customer in one round trip (profile, credit account,
    identities, addresses, recent orders and order stats, as JSON, each through the customer's
    indexes), plus what other apps registered: top-level sections (loyalty's account, always read,
    whose failure fails the 360 as the join it replaced would have) and, with ``sections``, the
    other sections (analytics scores), each of which may fail alone without breaking the page."""
    customer_id = parse_id(customer_id)
    row = customer_360_row(customer_id) if customer_id is not None else None
    if row is None:
        raise NotFound("Customer not found.")
    customer = _instance(Customer, row[0])
    credit = _instance(CreditAccount, row[1])
    identities, addresses, recent, by_source = (_rows(value) for value in row[2:])
    top = {name: provider(customer_id=customer.pk) for name, provider in registry.customer_360_top_level()}
    extra = {}
    for name, provider in registry.customer_360_sections() if sections else []:
        try:
            extra[name] = provider(customer_id=customer.pk)
        except Exception:
            logger.exception("customer 360 section %s failed", name)
            extra[name] = None
    return {
        "customer": customer,
        # Unsaved instances built from the rows: templates and serializers use them as usual.
        "identities": [CustomerIdentity(customer_id=customer.pk, **row) for row in identities],
        "addresses": [Address(customer_id=customer.pk, **row) for row in addresses],
        "order_stats": _stats(by_source),
        "recent_orders": [Order(**row) for row in recent],
        "credit": credit,
        **top,
        "sections": extra,
    }


def _instance(model, text):
    """A model instance from ``to_json(row)`` (one round trip instead of one query per table)."""
    data = json.loads(text, parse_float=decimal.Decimal) if isinstance(text, str) else text
    if data is None:
        return None
    values = {field.attname: field.to_python(data.get(field.column)) for field in model._meta.concrete_fields}
    instance = model(**values)
    instance._state.adding = False
    return instance


def customer_changes(*, customer_id) -> QuerySet[CustomerChangeLog]:
    customer = customer_get(customer_id=customer_id)
    return CustomerChangeLog.objects.filter(customer_id=customer.pk).order_by("-created_at", "-id")


def customer_addresses(*, customer_id) -> QuerySet[Address]:
    customer = customer_get(customer_id=customer_id)
    return Address.objects.filter(customer_id=customer.pk).order_by("address_type", "-is_default", "id")
