"""Dynamic segment rules: JSON a marketer builds, validated into a Django ``Q`` over customers.

Only whitelisted fields and operators are accepted and every value is type-checked, so a rule
can never carry SQL or reach a field we did not mean to expose.

Shape: ``{"op": "and" | "or", "rules": [condition | group, ...]}`` where a condition is
``{"field": "...", "operator": "...", "value": ...}``; groups nest up to ``MAX_DEPTH``.
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date

from analytics.codes import ErrorCode
from cdp.exceptions import ApplicationError
from cdp.ids import MAX_ID

MAX_DEPTH = 4
MAX_CONDITIONS = 50
INT_LIMIT = MAX_ID  # PostgreSQL bigint, the kit's one definition
MAX_DAYS_AGO = 36_500
NUMBER_LIMIT = Decimal(10) ** 13  # money columns (max_digits 15, 2 decimals) hold 13 digits before the point

# field -> (lookup path on Customer, type, allowed choices or None)
FIELDS: dict[str, tuple[str, str, tuple | None]] = {
    "rfm_segment": ("analytics_rfm__segment", "str", None),
    "rfm_r_score": ("analytics_rfm__r_score", "int", None),
    "rfm_f_score": ("analytics_rfm__f_score", "int", None),
    "rfm_m_score": ("analytics_rfm__m_score", "int", None),
    "clv_tier": ("analytics_clv__tier", "str", ("high", "medium", "low")),
    "clv_total": ("analytics_clv__total_clv", "number", None),
    "probability_alive": ("analytics_clv__probability_alive", "number", None),
    "churn_probability": ("analytics_churn__probability", "number", None),
    "churn_band": ("analytics_churn__band", "str", ("active", "at_risk", "churning", "churned")),
    "country": ("country", "str", None),
    "city": ("city", "str", None),
    "status": ("status", "str", ("active", "inactive", "blocked")),
    "customer_type": ("customer_type", "str", ("b2c", "b2b")),
    "total_spent": ("total_spent", "number", None),
    "total_orders": ("total_orders", "int", None),
    "last_purchase_at": ("last_purchase_at", "date", None),
    "first_purchase_at": ("first_purchase_at", "date", None),
    "days_since_last_purchase": ("last_purchase_at", "days_ago", None),
    "loyalty_tier": ("loyalty_account__tier", "str", ("bronze", "silver", "gold", "platinum")),
    "marketing_consent": ("marketing_consent", "bool", None),
    "tag": ("tags", "tag", None),
}

OPERATORS: dict[str, tuple[str, ...]] = {
    "str": ("eq", "ne", "in", "not_in", "is_empty"),
    "int": ("eq", "ne", "gt", "gte", "lt", "lte", "between", "in"),
    "number": ("eq", "ne", "gt", "gte", "lt", "lte", "between"),
    "date": ("gt", "gte", "lt", "lte", "between", "is_empty"),
    "days_ago": ("gt", "gte", "lt", "lte", "between"),
    "bool": ("eq",),
    "tag": ("contains",),
}


class RuleError(ApplicationError):
    code = ErrorCode.RULES_INVALID


def _coerce(kind: str, value, where: str):
    try:
        if kind == "str":
            if not isinstance(value, str) or len(value) > 200:
                raise ValueError
            return value
        if kind in ("int", "days_ago"):
            if isinstance(value, bool):
                raise ValueError
            number = int(value)
            # Past these a value means nothing (no count reaches bigint; 100 years back is before any
            # purchase), and beyond them the database or date arithmetic would fail instead.
            if not -INT_LIMIT <= number <= INT_LIMIT or (kind == "days_ago" and not 0 <= number <= MAX_DAYS_AGO):
                raise ValueError
            return number
        if kind == "number":
            if isinstance(value, bool):
                raise ValueError
            number = Decimal(str(value))
            if not number.is_finite() or abs(number) >= NUMBER_LIMIT:
                raise ValueError
            return number
        if kind == "date":
            parsed = parse_date(str(value)) if value is not None else None
            if parsed is None:
                raise ValueError
            return parsed
        if kind == "bool":
            if not isinstance(value, bool):
                raise ValueError
            return value
        if kind == "tag":
            if not isinstance(value, str) or not value or len(value) > 50:
                raise ValueError
            return value
    except (ValueError, TypeError, InvalidOperation):
        pass
    raise RuleError(f"{where}: '{value}' is not a valid {kind} value.")


def _condition(rule: dict, where: str) -> Q:
    field, operator = rule.get("field"), rule.get("operator")
    if field not in FIELDS:
        raise RuleError(f"{where}: unknown field '{field}'. Known: {', '.join(sorted(FIELDS))}.")
    path, kind, choices = FIELDS[field]
    if operator not in OPERATORS[kind]:
        raise RuleError(f"{where}: operator '{operator}' does not apply to {field} ({', '.join(OPERATORS[kind])}).")
    value = rule.get("value")
    if operator == "is_empty":
        return Q(**{f"{path}__isnull": True}) | (Q(**{path: ""}) if kind == "str" else Q(pk__in=[]))
    if operator in ("in", "not_in"):
        if not isinstance(value, list) or not value or len(value) > 100:
            raise RuleError(f"{where}: '{operator}' needs a non-empty list of values.")
        values = [_coerce(kind, item, where) for item in value]
        _check_choices(values, choices, where, field)
        q = Q(**{f"{path}__in": values})
        return ~q if operator == "not_in" else q
    if operator == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise RuleError(f"{where}: 'between' needs [low, high].")
        low, high = (_coerce(kind, item, where) for item in value)
        if kind == "days_ago":
            return _days_ago(path, "gte", low) & _days_ago(path, "lte", high)
        return Q(**{f"{path}__gte": low, f"{path}__lte": high})
    coerced = _coerce(kind, value, where)
    _check_choices([coerced], choices, where, field)
    if kind == "days_ago":
        return _days_ago(path, operator, coerced)
    if kind == "tag":
        return Q(**{f"{path}__contains": [coerced]})
    if kind == "date":
        return Q(**{f"{path}__date__{operator}": coerced})
    if operator == "eq":
        return Q(**{path: coerced})
    if operator == "ne":
        return ~Q(**{path: coerced})
    return Q(**{f"{path}__{operator}": coerced})


def _days_ago(path: str, operator: str, days: int) -> Q:
    # "more than N days since the last purchase" is "last purchase before now − N days".
    moment = timezone.now() - datetime.timedelta(days=days)
    flipped = {"gt": "lt", "gte": "lte", "lt": "gt", "lte": "gte"}[operator]
    return Q(**{f"{path}__{flipped}": moment})


def _check_choices(values, choices, where, field) -> None:
    if choices is not None:
        bad = [v for v in values if v not in choices]
        if bad:
            raise RuleError(f"{where}: {field} must be one of {', '.join(choices)}.")


def _group(group, where: str, depth: int, counter: list[int]) -> Q:
    if not isinstance(group, dict):
        raise RuleError(f"{where}: a group must be an object.")
    if depth > MAX_DEPTH:
        raise RuleError(f"{where}: groups nest at most {MAX_DEPTH} levels.")
    op = group.get("op", "and")
    if op not in ("and", "or"):
        raise RuleError(f"{where}: op must be 'and' or 'or'.")
    rules = group.get("rules")
    if not isinstance(rules, list) or not rules:
        raise RuleError(f"{where}: a group needs a non-empty 'rules' list.")
    combined = None
    for index, rule in enumerate(rules):
        here = f"{where}.rules[{index}]"
        if isinstance(rule, dict) and "rules" in rule:
            q = _group(rule, here, depth + 1, counter)
        elif isinstance(rule, dict):
            counter[0] += 1
            if counter[0] > MAX_CONDITIONS:
                raise RuleError(f"At most {MAX_CONDITIONS} conditions.")
            q = _condition(rule, here)
        else:
            raise RuleError(f"{here}: expected a condition or a group.")
        combined = q if combined is None else (combined & q if op == "and" else combined | q)
    return combined


def rules_to_q(rules) -> Q:
    """Validate ``rules`` and return the ``Q`` that selects the matching customers; raises
    ``RuleError`` (code ``invalid_rules``) naming the offending path."""
    try:
        return _group(rules, "rules", 1, [0])
    except RuleError as exc:
        raise RuleError(exc.message, fields={"rules": [exc.message]}) from None


_VALUE_SCHEMAS = {
    "str": {"type": "string", "maxLength": 200},
    "int": {"type": "integer"},
    "number": {"type": "number"},
    "date": {"type": "string", "format": "date"},
    "days_ago": {"type": "integer", "minimum": 0, "maximum": MAX_DAYS_AGO},
    "bool": {"type": "boolean"},
    "tag": {"type": "string", "minLength": 1, "maxLength": 50},
}


def _value_schema(kind: str, operator: str, choices) -> dict:
    single = dict(_VALUE_SCHEMAS[kind])
    if choices is not None:
        single = {"enum": list(choices)}
    if operator == "is_empty":
        return {}
    if operator in ("in", "not_in"):
        return {"type": "array", "items": single, "minItems": 1, "maxItems": 100}
    if operator == "between":
        return {"type": "array", "items": single, "minItems": 2, "maxItems": 2}
    return single


def rules_json_schema() -> dict:
    """The rule grammar above as a JSON schema (draft 2020-12), for callers that ask a machine to
    write rules (the AI mesh's segment drafts): an answer matching it has the right shape, fields,
    operators and value types. ``rules_to_q`` still validates every rule before it is used (ranges,
    nesting depth, the number of conditions)."""
    conditions = []
    for field, (_, kind, choices) in sorted(FIELDS.items()):
        for operator in OPERATORS[kind]:
            properties = {"field": {"const": field}, "operator": {"const": operator}}
            required = ["field", "operator"]
            if operator != "is_empty":
                properties["value"] = _value_schema(kind, operator, choices)
                required.append("value")
            conditions.append({"type": "object", "required": required, "properties": properties,
                               "additionalProperties": False})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": {
            "condition": {"anyOf": conditions},
            "group": {"type": "object", "required": ["rules"], "additionalProperties": False,
                      "properties": {"op": {"enum": ["and", "or"]},
                                     "rules": {"type": "array", "minItems": 1, "maxItems": MAX_CONDITIONS,
                                               "items": {"anyOf": [{"$ref": "#/$defs/condition"},
                                                                   {"$ref": "#/$defs/group"}]}}}},
        },
        "$ref": "#/$defs/group",
    }
