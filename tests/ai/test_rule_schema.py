"""analytics.rules_json_schema (what the model is asked to answer) agrees with the rule compiler:
every field and operator the compiler accepts, the schema accepts, and the other way round for a
few the compiler refuses."""

from __future__ import annotations

import jsonschema
import pytest

from analytics.rules import FIELDS, OPERATORS, RuleError, rules_json_schema, rules_to_q

SAMPLE = {"str": "x", "int": 3, "number": 10.5, "date": "2026-01-31", "days_ago": 90, "bool": True, "tag": "vip"}


def value_for(kind, operator, choices):
    one = choices[0] if choices else SAMPLE[kind]
    if operator in ("in", "not_in"):
        return [one]
    if operator == "between":
        return [one, one]
    return one


def validator():
    return jsonschema.Draft202012Validator(rules_json_schema())


def test_the_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(rules_json_schema())


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_every_condition_the_compiler_accepts_the_schema_accepts(field):
    _, kind, choices = FIELDS[field]
    for operator in OPERATORS[kind]:
        rule = {"field": field, "operator": operator}
        if operator != "is_empty":
            rule["value"] = value_for(kind, operator, choices)
        rules = {"op": "and", "rules": [rule]}
        rules_to_q(rules)  # the compiler accepts it
        assert list(validator().iter_errors(rules)) == [], rule


@pytest.mark.parametrize("rules", [
    {"op": "and", "rules": [{"field": "password", "operator": "eq", "value": "x"}]},
    {"op": "and", "rules": [{"field": "city", "operator": "gt", "value": "x"}]},
    {"op": "and", "rules": [{"field": "churn_band", "operator": "eq", "value": "maybe"}]},
    {"op": "xor", "rules": [{"field": "city", "operator": "eq", "value": "x"}]},
    {"op": "and", "rules": []},
    {"op": "and", "rules": [{"field": "total_orders", "operator": "gte", "value": "two"}]},
])
def test_what_the_compiler_refuses_the_schema_refuses_too(rules):
    with pytest.raises(RuleError):
        rules_to_q(rules)
    assert list(validator().iter_errors(rules))
