"""Reads of custom attributes: the definitions, one customer's values, many customers' values
(exports, reports)."""

from __future__ import annotations

import datetime
import decimal

from customers.models import AttributeDefinition, CustomerAttributeValue

VALUE_COLUMNS = ("value_text", "value_number", "value_date", "value_bool")
#: The column that holds a value of each attribute type.
COLUMN = {AttributeDefinition.Type.TEXT: "value_text", AttributeDefinition.Type.CHOICE: "value_text",
          AttributeDefinition.Type.NUMBER: "value_number", AttributeDefinition.Type.DATE: "value_date",
          AttributeDefinition.Type.BOOLEAN: "value_bool"}


def attribute_definitions() -> dict[str, AttributeDefinition]:
    """The tenant's definitions by key (one query; for a batch, a form or a rule)."""
    return {definition.key: definition for definition in AttributeDefinition.objects.order_by("key")}


def attribute_definition_list():
    return AttributeDefinition.objects.order_by("key")


def attribute_value_of(row: CustomerAttributeValue):
    """The value a row holds, from the column of its type."""
    for column in VALUE_COLUMNS:
        value = getattr(row, column)
        if value is not None:
            return value
    return None


def attribute_value_text(value) -> str:
    """A value as text for exports and the change log: ISO dates, plain decimals, true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f")
    return str(value)


def customer_attribute_values(*, customer_id) -> dict[str, object]:
    """One customer's values by key."""
    rows = CustomerAttributeValue.objects.filter(customer_id=customer_id).select_related("definition")
    return {row.definition.key: attribute_value_of(row) for row in rows.order_by("definition__key")}


def attribute_values_for(*, customer_ids) -> dict[int, dict[str, object]]:
    """Many customers' values by customer and key, in one query (a page of an export)."""
    values: dict[int, dict[str, object]] = {}
    rows = CustomerAttributeValue.objects.filter(customer_id__in=list(customer_ids)).select_related("definition")
    for row in rows:
        values.setdefault(row.customer_id, {})[row.definition.key] = attribute_value_of(row)
    return values
