"""Custom attributes (issue #21 item 10): the tenant's typed attribute definitions and each
customer's values, set by people (API, admin) and by feeds (lead and subscriber imports).

Every value is checked against its definition's type before anything is written; an invalid one
is a field error (``attributes.<key>``), never replaced by an empty or a default value. Changes go
to the customer's change log (field ``attribute.<key>``) under the same source priorities as the
profile: a feed's empty value never overwrites, a stored value changes only for its own source or
a higher-ranked one, and people (``manual``) outrank every feed.
"""

from __future__ import annotations

import datetime
import decimal
import re
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date

from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict
from cdp.ids import get_or_not_found
from customers.codes import AuditAction, ErrorCode
from customers.models import MANUAL_SOURCE, AttributeDefinition, Customer, CustomerAttributeValue, CustomerChangeLog
from customers.models.attributes import ATTRIBUTE_KEY_RE
from customers.registry import publish_on_commit
from customers.selectors.attributes import (
    COLUMN,
    VALUE_COLUMNS,
    attribute_definitions,
    attribute_value_of,
    attribute_value_text,
    customer_attribute_values,
)
from customers.services.common import customer_current
from customers.services.normalize import text_clean
from customers.services.profile import source_may_overwrite, source_priorities
from tenants.services import audit_record, changes_between

Type = AttributeDefinition.Type
MAX_TEXT = 500
MAX_CHOICES = 200
NUMBER_LIMIT = decimal.Decimal(10) ** 14  # max_digits 20, 6 decimals
NUMBER_PLACES = decimal.Decimal("0.000001")
TRUE_WORDS = frozenset({"true", "yes", "1", "y", "si", "sí", "sim"})
FALSE_WORDS = frozenset({"false", "no", "0", "n", "não", "nao"})
KEY_RE = re.compile(ATTRIBUTE_KEY_RE)


class AttributeInvalid(ApplicationError):
    code = ErrorCode.ATTRIBUTE_INVALID


def attribute_value_parse(definition: AttributeDefinition, raw):
    """``raw`` as a value of ``definition``'s type; ValueError with the reason when it is not one.
    ``raw`` is not empty (callers decide what an empty value means)."""
    kind = definition.type
    if kind == Type.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        word = text_clean(raw).lower() if isinstance(raw, (str, int)) else None
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError("Use true or false.")
    if isinstance(raw, (dict, list)):
        raise ValueError("Must be a single value.")
    if kind == Type.NUMBER:
        if isinstance(raw, bool):
            raise ValueError("Must be a number.")
        try:
            number = decimal.Decimal(text_clean(raw).replace(",", "") if isinstance(raw, str) else str(raw))
        except (decimal.InvalidOperation, ValueError):
            raise ValueError("Must be a number.") from None
        if not number.is_finite() or abs(number) >= NUMBER_LIMIT:
            raise ValueError("Must be a number below 10^14.")
        return number.quantize(NUMBER_PLACES, rounding=decimal.ROUND_HALF_UP)
    if kind == Type.DATE:
        if isinstance(raw, datetime.date) and not isinstance(raw, datetime.datetime):
            return raw
        try:
            day = parse_date(text_clean(raw)) if isinstance(raw, str) else None
        except ValueError:
            day = None
        if day is None or not 1800 <= day.year <= 2200:
            raise ValueError("Use a date as YYYY-MM-DD.")
        return day
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float, decimal.Decimal)):
        raise ValueError("Must be text.")
    text = text_clean(raw)
    if kind == Type.CHOICE:
        for choice in definition.choices:
            if choice.casefold() == text.casefold():
                return choice
        raise ValueError(f"Choose one of: {', '.join(definition.choices)}.")
    if len(text) > MAX_TEXT:
        raise ValueError(f"At most {MAX_TEXT} characters.")
    return text


def _is_empty(raw) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


@dataclass
class CleanValue:
    definition: AttributeDefinition
    value: object  # None: clear it (people only)


def attribute_values_clean(values, *, definitions: dict[str, AttributeDefinition],
                           allow_clear: bool) -> tuple[dict[str, CleanValue], dict[str, list[str]]]:
    """Check ``{key: raw value}`` against the active ``definitions`` (by key): the clean values
    and the errors by field (``attributes.<key>``). An empty value clears the attribute when
    ``allow_clear`` (people), and is skipped otherwise (feeds: empty never overwrites)."""
    clean: dict[str, CleanValue] = {}
    errors: dict[str, list[str]] = {}
    if not isinstance(values, dict):
        return {}, {"attributes": ["Must be an object of attribute keys and values."]}
    for key, raw in values.items():
        definition = definitions.get(key) if isinstance(key, str) else None
        if definition is None or not definition.is_active:
            errors[f"attributes.{key}"] = ["Unknown attribute."]
            continue
        if _is_empty(raw):
            if allow_clear:
                clean[key] = CleanValue(definition, None)
            continue
        try:
            clean[key] = CleanValue(definition, attribute_value_parse(definition, raw))
        except ValueError as exc:
            errors[f"attributes.{key}"] = [str(exc)]
    return clean, errors


# --- definitions ----------------------------------------------------------------------------------
DEFINITION_FIELDS = ("key", "label", "type", "choices", "description", "is_active")


def _definition_clean(definition: AttributeDefinition, data: dict, *, creating: bool) -> None:
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(data) - set(DEFINITION_FIELDS))
    for name in unknown:
        errors[name] = ["Unknown field."]
    if "key" in data and not creating and data["key"] != definition.key:
        errors["key"] = ["The key cannot change: imports, rules and exports use it."]
    if creating:
        key = text_clean(data.get("key")).lower()
        if not KEY_RE.match(key):
            errors["key"] = ["Lowercase letters, digits and underscores, starting with a letter (at most 50)."]
        elif AttributeDefinition.objects.filter(key=key).exists():
            errors["key"] = ["An attribute with this key exists."]
        definition.key = key
    if "label" in data or creating:
        label = text_clean(data.get("label"))
        if not label or len(label) > 100:
            errors["label"] = ["Required, at most 100 characters."]
        definition.label = label
    if "type" in data or creating:
        kind = text_clean(data.get("type")).lower()
        if kind not in Type.values:
            errors["type"] = [f"Choose one of: {', '.join(Type.values)}."]
        elif not creating and kind != definition.type and definition.values.exists():
            errors["type"] = ["The type cannot change once customers have values."]
        definition.type = kind
    if "choices" in data:
        choices = data.get("choices")
        if not isinstance(choices, list) or not all(isinstance(c, str) and 0 < len(c.strip()) <= 100
                                                     for c in choices) or len(choices) > MAX_CHOICES:
            errors["choices"] = [f"A list of up to {MAX_CHOICES} non-empty texts (at most 100 characters each)."]
        else:
            cleaned = list(dict.fromkeys(c.strip() for c in choices))
            if not creating and definition.pk and definition.type == Type.CHOICE:
                in_use = set(definition.values.exclude(value_text__in=cleaned)
                             .values_list("value_text", flat=True).distinct()[:5])
                if in_use:
                    errors["choices"] = [f"Customers hold values you removed: {', '.join(sorted(in_use))}."]
            definition.choices = cleaned
    if definition.type == Type.CHOICE and not definition.choices and "type" not in errors:
        errors.setdefault("choices", []).append("A choice attribute needs its choices.")
    if definition.type != Type.CHOICE and definition.choices and "type" not in errors:
        errors.setdefault("choices", []).append("Only a choice attribute has choices.")
    if "description" in data:
        description = text_clean(data.get("description"))
        if len(description) > 255:
            errors["description"] = ["At most 255 characters."]
        definition.description = description
    if "is_active" in data:
        if not isinstance(data["is_active"], bool):
            errors["is_active"] = ["Must be true or false."]
        else:
            definition.is_active = data["is_active"]
    if errors:
        raise AttributeInvalid("The attribute is invalid.", fields=errors)


def _snapshot(definition: AttributeDefinition) -> dict:
    return {name: getattr(definition, name) for name in DEFINITION_FIELDS}


@transaction.atomic
def attribute_definition_create(*, data: dict, actor: Actor) -> AttributeDefinition:
    """Define a custom attribute (key, label, type, choices for a choice); audited."""
    definition = AttributeDefinition()
    _definition_clean(definition, data, creating=True)
    definition.save()
    audit_record(actor=actor, action=AuditAction.ATTRIBUTE_DEFINE, resource_type="attribute_definition",
                 resource_id=definition.pk, tenant=connection.tenant, changes=_snapshot(definition))
    return definition


@transaction.atomic
def attribute_definition_update(*, definition_id, data: dict, actor: Actor) -> AttributeDefinition:
    """Change a definition's label, description, choices or state (its key never; its type only
    while no customer has a value; a choice in use cannot be removed); audited."""
    definition = get_or_not_found(AttributeDefinition, definition_id, "No such attribute.", lock=True)
    before = _snapshot(definition)
    _definition_clean(definition, data, creating=False)
    after = _snapshot(definition)
    if after != before:
        definition.save()
        audit_record(actor=actor, action=AuditAction.ATTRIBUTE_UPDATE, resource_type="attribute_definition",
                     resource_id=definition.pk, tenant=connection.tenant, changes=changes_between(before, after))
    return definition


def _log_text(value) -> str | None:
    """A value as the change log keeps it (None when there is none)."""
    return None if value is None else attribute_value_text(value)


# --- values ---------------------------------------------------------------------------------------
def _values_write(*, customers: dict[int, Customer], wanted: dict[int, dict[str, CleanValue]], source: str,
                  actor: Actor, reason: str, people: bool) -> dict[int, list[str]]:
    """Write the wanted values of ``customers`` (already locked or just written by the caller);
    returns the changed keys by customer. Feeds obey the priorities; people always win."""
    priorities = source_priorities()
    stored = {(row.customer_id, row.definition_id): row for row in CustomerAttributeValue.objects.filter(
        customer_id__in=list(wanted)).select_related("definition")}
    creates, updates, deletes, logs = [], [], [], []
    changed: dict[int, list[str]] = {}
    for customer_id, values in wanted.items():
        for key, clean in values.items():
            row = stored.get((customer_id, clean.definition.pk))
            old = attribute_value_of(row) if row else None
            if old == clean.value or (old is None and clean.value is None):
                continue
            if row is not None and not people and not source_may_overwrite(
                    source=source, current_source=row.source, priorities=priorities):
                continue
            if clean.value is None:
                deletes.append(row.pk)
            elif row is None:
                creates.append(CustomerAttributeValue(customer_id=customer_id, definition=clean.definition,
                                                      source=source, **{COLUMN[clean.definition.type]: clean.value}))
            else:
                for column in VALUE_COLUMNS:
                    setattr(row, column, None)
                setattr(row, COLUMN[clean.definition.type], clean.value)
                row.source = source
                updates.append(row)
            why = "filled empty value" if old is None else reason
            logs.append(CustomerChangeLog(customer_id=customer_id, field=f"attribute.{key}", old_value=_log_text(old),
                                          new_value=_log_text(clean.value), source=source,
                                          changed_by=actor.label[:255], reason=why[:255]))
            changed.setdefault(customer_id, []).append(key)
    if deletes:
        CustomerAttributeValue.objects.filter(pk__in=deletes).delete()
    if updates:
        CustomerAttributeValue.objects.bulk_update(updates, [*VALUE_COLUMNS, "source", "updated_at"])
    if creates:
        CustomerAttributeValue.objects.bulk_create(creates)
    if logs:
        CustomerChangeLog.objects.bulk_create(logs)
        publish_on_commit([("customer.updated", {"customer_id": pk, "fields": [f"attribute.{k}" for k in keys]})
                           for pk, keys in sorted(changed.items())])
    return changed


@transaction.atomic
def customer_attributes_set(*, customer_id, values: dict, actor: Actor,
                            reason: str = "manual edit") -> dict[str, object]:
    """A person sets (or clears, with null or "") attribute values of one customer: every value
    checked first (``attributes.<key>`` field errors, nothing written), each change logged, one
    audit entry. Refused for a pseudonymized or merged customer. Returns the customer's values."""
    customer = customer_current(customer_id, lock=True)
    if customer.is_pseudonymized:
        raise Conflict("This customer was pseudonymized and can no longer be edited.",
                       code=ErrorCode.CUSTOMER_PSEUDONYMIZED)
    clean, errors = attribute_values_clean(values, definitions=attribute_definitions(), allow_clear=True)
    if errors:
        raise AttributeInvalid("Some attribute values are invalid.", fields=errors)
    before = customer_attribute_values(customer_id=customer.pk)
    changed = _values_write(customers={customer.pk: customer}, wanted={customer.pk: clean}, source=MANUAL_SOURCE,
                            actor=actor, reason=reason, people=True)
    after = customer_attribute_values(customer_id=customer.pk)
    if changed:
        Customer.objects.filter(pk=customer.pk).update(updated_at=timezone.now())
        keys = changed[customer.pk]
        audit_record(actor=actor, action=AuditAction.CUSTOMER_ATTRIBUTES_SET, resource_type="customer",
                     resource_id=customer.pk, tenant=connection.tenant,
                     changes=changes_between({k: _log_text(before.get(k)) for k in keys},
                                             {k: _log_text(after.get(k)) for k in keys}))
    return after


def customer_attributes_apply(*, wanted: dict[int, dict[str, CleanValue]], actor: Actor, source: str) -> dict:
    """A feed's checked values (``attribute_values_clean(allow_clear=False)``) for customers it has
    just resolved (the lead ingest, inside its transaction): empty never overwrites, the
    priorities decide; returns the changed keys by customer."""
    wanted = {pk: values for pk, values in wanted.items() if values}
    if not wanted:
        return {}
    live = set(Customer.objects.filter(pk__in=list(wanted), is_pseudonymized=False).values_list("pk", flat=True))
    wanted = {pk: values for pk, values in wanted.items() if pk in live}
    return _values_write(customers={}, wanted=wanted, source=source, actor=actor, reason="import", people=False)



def customer_attributes_erase(*, customer_ids: list[int]) -> int:
    """Part of a pseudonymization (inside its transaction): delete the people's attribute values
    and blank the values their attribute change-log rows quote (a custom field may hold anything
    personal); returns how many values were deleted."""
    deleted, _ = CustomerAttributeValue.objects.filter(customer_id__in=customer_ids).delete()
    CustomerChangeLog.objects.filter(customer_id__in=customer_ids, field__startswith="attribute.").update(
        old_value=None, new_value=None)
    return deleted
