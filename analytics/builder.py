"""The portal's visual segment builder: the catalog of fields a marketer picks from, the form rows it
posts turned into segment rules (``analytics.rules``, the one validator, stays the judge), and rules
read back as a sentence.

The builder posts plain form fields, so it works without JavaScript (a small script only adds rows
and groups in place and asks for the live count):

- ``op``: how the groups combine (``and`` / ``or``);
- ``g<i>-op``: how the conditions of group ``i`` combine;
- ``g<i>-r<j>-field``, ``g<i>-r<j>-operator``, ``g<i>-r<j>-value`` (repeated for a list),
  ``g<i>-r<j>-value2`` (the upper end of ``between``).

A row without a field is ignored (the blank rows of the page). The JSON shape stays the API's."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation

from babel.numbers import NumberFormatError, parse_decimal
from django.utils import formats
from django.utils.dateparse import parse_date
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics.models import CustomerChurn, CustomerClv, RfmSegmentDefinition
from analytics.rules import FIELDS, MAX_CONDITIONS, OPERATORS, RuleError, rules_to_q
from cdp.formats import babel_locale_name, format_number
from customers.models import Customer

FIELD_LABELS = {
    "rfm_segment": gettext_lazy("RFM segment"),
    "rfm_r_score": gettext_lazy("Recency score (R)"),
    "rfm_f_score": gettext_lazy("Frequency score (F)"),
    "rfm_m_score": gettext_lazy("Monetary score (M)"),
    "clv_tier": gettext_lazy("CLV tier"),
    "clv_total": gettext_lazy("Lifetime value"),
    "probability_alive": gettext_lazy("Probability of being active"),
    "churn_probability": gettext_lazy("Churn risk"),
    "churn_band": gettext_lazy("Churn band"),
    "country": gettext_lazy("Country (ISO code)"),
    "city": gettext_lazy("City"),
    "status": gettext_lazy("Status"),
    "customer_type": gettext_lazy("Customer type"),
    "total_spent": gettext_lazy("Total spent"),
    "total_orders": gettext_lazy("Number of orders"),
    "last_purchase_at": gettext_lazy("Last purchase date"),
    "first_purchase_at": gettext_lazy("First purchase date"),
    "days_since_last_purchase": gettext_lazy("Days since the last purchase"),
    "loyalty_tier": gettext_lazy("Loyalty tier"),
    "marketing_consent": gettext_lazy("Accepts marketing"),
    "tag": gettext_lazy("Tag"),
}

OPERATOR_LABELS = {
    "eq": gettext_lazy("is"),
    "ne": gettext_lazy("is not"),
    "in": gettext_lazy("is one of"),
    "not_in": gettext_lazy("is none of"),
    "is_empty": gettext_lazy("is empty"),
    "gt": gettext_lazy("is more than"),
    "gte": gettext_lazy("is at least"),
    "lt": gettext_lazy("is less than"),
    "lte": gettext_lazy("is at most"),
    "between": gettext_lazy("is between"),
    "contains": gettext_lazy("includes"),
}
#: Dates read better as before/after.
DATE_OPERATOR_LABELS = {"gt": gettext_lazy("is after"), "gte": gettext_lazy("is on or after"),
                        "lt": gettext_lazy("is before"), "lte": gettext_lazy("is on or before")}

LOYALTY_TIERS = (("bronze", gettext_lazy("Bronze")), ("silver", gettext_lazy("Silver")),
                 ("gold", gettext_lazy("Gold")), ("platinum", gettext_lazy("Platinum")))
BOOLEAN_CHOICES = (("true", gettext_lazy("Yes")), ("false", gettext_lazy("No")))

_ROW = re.compile(r"^g(\d{1,2})-r(\d{1,2})-field$")
MAX_GROUPS = 10


def field_choices(field: str) -> list[tuple[str, str]] | None:
    """The values a field can take, as (value, label), or None when it is free."""
    if field == "rfm_segment":
        return [(d.code, _(d.name)) for d in RfmSegmentDefinition.objects.order_by("priority", "code")]
    if field == "churn_band":
        return [(value, str(label)) for value, label in CustomerChurn.Band.choices]
    if field == "clv_tier":
        return [(value, str(label)) for value, label in CustomerClv.Tier.choices]
    if field == "status":
        return [(value, str(label)) for value, label in Customer.Status.choices if value != Customer.Status.MERGED]
    if field == "customer_type":
        return [(value, str(label)) for value, label in Customer.Type.choices]
    if field == "loyalty_tier":
        return [(value, str(label)) for value, label in LOYALTY_TIERS]
    if field == "marketing_consent":
        return [(value, str(label)) for value, label in BOOLEAN_CHOICES]
    return None


def operator_label(kind: str, operator: str) -> str:
    return str((DATE_OPERATOR_LABELS if kind == "date" else {}).get(operator) or OPERATOR_LABELS[operator])


def builder_catalog() -> list[dict]:
    """Every field the builder offers: name, label, kind, its operators (name, label) and its
    choices (value, label) or None; for the page and its script (``json_script``)."""
    catalog = []
    for name, (_path, kind, _choices) in FIELDS.items():
        catalog.append({
            "name": name, "label": str(FIELD_LABELS.get(name, name)), "kind": kind,
            "operators": [{"name": op, "label": operator_label(kind, op)} for op in OPERATORS[kind]],
            "choices": [{"value": v, "label": label} for v, label in (field_choices(name) or [])] or None,
        })
    return sorted(catalog, key=lambda entry: entry["label"].lower())


def builder_state(data) -> dict:
    """The rows of a posted builder, as the page draws them again (after an error or a count),
    without judging them: ``{"op", "groups": [{"op", "rows": [{"field", "operator", "values", "value2"}]}]}``."""
    found: dict[int, dict[int, dict]] = {}
    for key in data.keys() if data else ():
        match = _ROW.match(key)
        if not match:
            continue
        group, row = int(match[1]), int(match[2])
        prefix = f"g{group}-r{row}"
        found.setdefault(group, {})[row] = {
            "field": (data.get(f"{prefix}-field") or "").strip(),
            "operator": (data.get(f"{prefix}-operator") or "").strip(),
            "values": [v for v in data.getlist(f"{prefix}-value") if v.strip()] if hasattr(data, "getlist")
            else [data.get(f"{prefix}-value")],
            "value2": (data.get(f"{prefix}-value2") or "").strip(),
        }
    groups = [{"op": _op(data.get(f"g{g}-op") if data else None), "rows": [found[g][r] for r in sorted(found[g])]}
              for g in sorted(found)[:MAX_GROUPS]]
    return {"op": _op(data.get("op") if data else None), "groups": groups or [{"op": "and", "rows": []}]}


def builder_rows(state: dict) -> dict:
    """``state`` with what the page needs to draw each row: the field's kind, operators and choices,
    whether the value is a list, and a blank row at the end of each group."""
    catalog = {entry["name"]: entry for entry in builder_catalog()}
    all_operators = [{"name": op, "label": str(OPERATOR_LABELS[op])} for op in OPERATOR_LABELS]
    groups = []
    for group in state["groups"]:
        rows = [row for row in group["rows"] if row["field"]] + [{"field": "", "operator": "", "values": [], "value2": ""}]
        drawn = []
        for row in rows:
            entry = catalog.get(row["field"])
            drawn.append({**row, "kind": entry["kind"] if entry else "",
                          "operators": entry["operators"] if entry else all_operators,
                          "choices": entry["choices"] if entry else None,
                          "multiple": row["operator"] in ("in", "not_in")})
        groups.append({"op": group["op"], "rows": drawn})
    return {"op": state["op"], "groups": groups, "catalog": list(catalog.values())}


def builder_add(data, target: str) -> dict:
    """The posted builder with one more group (``target`` "group") or nothing more: the blank row
    each group ends with is the one to fill (the page's "Add a group" without JavaScript)."""
    state = builder_state(data)
    if target == "group" and len(state["groups"]) < MAX_GROUPS:
        state["groups"].append({"op": "and", "rows": []})
    return state


def _op(value) -> str:
    return "or" if value == "or" else "and"


def _number(text: str):
    """A number typed in the reader's separators ("1.234,50" in es, "1,234.50" in en, Babel's CLDR
    rules), or in the plain form a script or the API would send ("100.5")."""
    text = text.strip()
    try:
        number = parse_decimal(text, locale=babel_locale_name(), strict=True)
    except NumberFormatError:
        try:
            number = Decimal(text)
        except InvalidOperation:
            return text  # rules_to_q says it is not a number, naming the condition
    if not number.is_finite():
        return text
    return int(number) if number == number.to_integral_value() else float(number)


def _date(text: str):
    parsed = parse_date(text.strip())
    if parsed is None:
        for fmt in formats.get_format("DATE_INPUT_FORMATS"):
            try:
                parsed = datetime.datetime.strptime(text.strip(), fmt).date()
                break
            except ValueError:
                continue
    return parsed.isoformat() if parsed else text


def _typed(kind: str, text: str):
    """A value typed or chosen in the form, in the type the rules take (checked by ``rules_to_q``)."""
    if kind in ("int", "number", "days_ago"):
        return _number(text)
    if kind == "date":
        return _date(text)
    if kind == "bool":
        return {"true": True, "false": False}.get(text, text)
    return text.strip()


def _condition(row: dict, where: str) -> dict:
    field, operator = row["field"], row["operator"]
    if field not in FIELDS:
        raise RuleError(_("%(where)s: choose a field.") % {"where": where})
    kind = FIELDS[field][1]
    if operator not in OPERATORS[kind]:
        raise RuleError(_("%(where)s: choose how to compare %(field)s.") % {"where": where,
                                                                          "field": FIELD_LABELS.get(field, field)})
    if operator == "is_empty":
        return {"field": field, "operator": operator}
    values = [v for v in row["values"] if v is not None and str(v).strip()]
    if operator in ("in", "not_in"):
        # a list chosen in a multiple select, or typed with commas
        if len(values) == 1 and field_choices(field) is None:
            values = [v for v in values[0].split(",") if v.strip()]
        value = [_typed(kind, v) for v in values]
    elif operator == "between":
        if not values or not row["value2"]:
            raise RuleError(_("%(where)s: give both ends of the range.") % {"where": where})
        value = [_typed(kind, values[0]), _typed(kind, row["value2"])]
    else:
        if not values:
            raise RuleError(_("%(where)s: give a value.") % {"where": where})
        value = _typed(kind, values[0])
    return {"field": field, "operator": operator, "value": value}


def rules_from_post(data) -> dict:
    """The rules of a posted builder, validated by ``analytics.rules.rules_to_q``; raises
    ``RuleError`` with a message naming the condition (never stores an empty or example rule)."""
    state = builder_state(data)
    groups = []
    count = 0
    for g, group in enumerate(state["groups"], start=1):
        conditions = []
        for r, row in enumerate(group["rows"], start=1):
            if not row["field"]:
                continue
            count += 1
            if count > MAX_CONDITIONS:
                raise RuleError(_("At most %(n)s conditions.") % {"n": MAX_CONDITIONS})
            conditions.append(_condition(row, _("Group %(g)s, condition %(r)s") % {"g": g, "r": r}))
        if conditions:
            groups.append({"op": group["op"], "rules": conditions})
    if not groups:
        raise RuleError(_("Add at least one condition: a segment needs rules to choose its customers."))
    rules = groups[0] if len(groups) == 1 else {"op": state["op"], "rules": groups}
    rules_to_q(rules)
    return rules


# --- rules as a sentence -------------------------------------------------------------------------

def _value_text(field: str, kind: str, value) -> str:
    labels = dict(field_choices(field) or [])
    if isinstance(value, bool):
        return str(BOOLEAN_CHOICES[0][1] if value else BOOLEAN_CHOICES[1][1])
    if str(value) in labels:
        return str(labels[str(value)])
    if kind in ("int", "number", "days_ago") and isinstance(value, (int, float, Decimal, str)):
        try:
            return format_number(value)
        except (InvalidOperation, ValueError, TypeError):
            return str(value)
    if kind == "date":
        parsed = parse_date(str(value))
        return formats.date_format(parsed, "SHORT_DATE_FORMAT") if parsed else str(value)
    return f"“{value}”"


def _condition_text(rule: dict) -> str:
    field, operator, value = rule.get("field"), rule.get("operator"), rule.get("value")
    if field not in FIELDS or operator not in OPERATOR_LABELS:
        return str(rule)
    kind = FIELDS[field][1]
    subject, verb = str(FIELD_LABELS.get(field, field)), operator_label(kind, operator)
    if operator == "is_empty":
        return f"{subject} {verb}"
    if operator in ("in", "not_in") and isinstance(value, list):
        return f"{subject} {verb} {', '.join(_value_text(field, kind, v) for v in value)}"
    if operator == "between" and isinstance(value, list) and len(value) == 2:
        return str(format_lazy(_("{subject} is between {low} and {high}"), subject=subject,
                               low=_value_text(field, kind, value[0]), high=_value_text(field, kind, value[1])))
    return f"{subject} {verb} {_value_text(field, kind, value)}"


def rules_sentence(rules, *, _nested: bool = False) -> str:
    """``rules`` as a person reads them, in the active language: "RFM segment is one of At risk,
    Can't lose them and Total spent is at least 100" (groups in parentheses)."""
    if not isinstance(rules, dict) or not isinstance(rules.get("rules"), list):
        return ""
    joiner = f" {_('and') if rules.get('op', 'and') == 'and' else _('or')} "
    parts = [rules_sentence(rule, _nested=True) if isinstance(rule, dict) and "rules" in rule
             else _condition_text(rule) if isinstance(rule, dict) else str(rule) for rule in rules["rules"]]
    text = joiner.join(parts)
    return f"({text})" if _nested and len(parts) > 1 else text
