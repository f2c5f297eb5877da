"""RFM: editable segment definitions and the scoring step."""

from __future__ import annotations

import datetime

import numpy as np
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext_noop

from analytics.codes import AuditAction, ErrorCode
from analytics.history import OrderHistory, day_number, quintile
from analytics.models import CustomerRfm, RfmSegmentDefinition
from analytics.selectors import order_history_load
from analytics.sql import rfm_cells_sql, rfm_write_sql, stage_arrays, unstage
from cdp.context import Actor
from cdp.exceptions import ApplicationError, full_clean_or_raise
from cdp.ids import get_or_not_found
from tenants.services import audit_record, changes_between

# The usual R × F map (M refines nothing by default). Every (R, F) cell is covered, so every
# scored customer gets a segment; "lost" is checked before the wider "hibernating" box.
DEFAULT_DEFINITIONS = [
    # code, name (shown translated while it is the default: analytics.selectors), priority, (r_min, r_max), (f_min, f_max), color, suggested action
    ("champions", gettext_noop("Champions"), 10, (5, 5), (4, 5), "#15803d", "Reward them; early access, ask for reviews."),
    ("loyal", gettext_noop("Loyal"), 20, (3, 4), (4, 5), "#16a34a", "Upsell higher-value products; loyalty perks."),
    ("potential_loyalist", gettext_noop("Potential Loyalists"), 30, (4, 5), (2, 3), "#65a30d", "Membership or loyalty offer."),
    ("new", gettext_noop("New"), 40, (5, 5), (1, 1), "#0891b2", "Onboarding; help them succeed with the first purchase."),
    ("promising", gettext_noop("Promising"), 50, (4, 4), (1, 1), "#0284c7", "Build brand awareness; free trials."),
    ("need_attention", gettext_noop("Need Attention"), 60, (3, 3), (3, 3), "#ca8a04", "Limited-time offers based on history."),
    ("about_to_sleep", gettext_noop("About to Sleep"), 70, (3, 3), (1, 2), "#d97706", "Share popular products; reconnect."),
    ("cant_lose", gettext_noop("Can't Lose Them"), 80, (1, 2), (5, 5), "#dc2626", "Win them back; talk to them."),
    ("at_risk", gettext_noop("At Risk"), 90, (1, 2), (3, 4), "#ea580c", "Personalized reactivation campaigns."),
    ("lost", gettext_noop("Lost"), 100, (1, 1), (1, 2), "#6b7280", "Revive interest with a reach-out; otherwise ignore."),
    ("hibernating", gettext_noop("Hibernating"), 110, (1, 2), (1, 2), "#94a3b8", "Offer relevant products and discounts."),
]

EDITABLE_FIELDS = ("name", "description", "priority", "r_min", "r_max", "f_min", "f_max", "m_min", "m_max",
                   "suggested_action", "color", "is_active")


def rfm_definitions_ensure() -> int:
    """Create the default definitions that do not exist yet (never overwrites edits). Returns how
    many were created."""
    existing = set(RfmSegmentDefinition.objects.values_list("code", flat=True))
    created = [
        RfmSegmentDefinition(code=code, name=name, priority=priority, r_min=r[0], r_max=r[1], f_min=f[0], f_max=f[1],
                             color=color, suggested_action=action)
        for code, name, priority, r, f, color, action in DEFAULT_DEFINITIONS
        if code not in existing
    ]
    RfmSegmentDefinition.objects.bulk_create(created)
    return len(created)


@transaction.atomic
def rfm_definition_update(*, definition_id: int, data: dict, actor: Actor, tenant) -> RfmSegmentDefinition:
    """Edit a definition's box, name or priority; takes effect on the next run."""
    definition = get_or_not_found(RfmSegmentDefinition, definition_id, "No such RFM segment definition.", lock=True)
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ApplicationError("Unknown fields.", code=ErrorCode.INVALID, fields={key: ["Not editable."] for key in unknown})
    before = {key: getattr(definition, key) for key in data}
    for key, value in data.items():
        setattr(definition, key, value)
    full_clean_or_raise(definition, "Some fields are invalid.")
    definition.save()
    audit_record(actor=actor, action=AuditAction.RFM_DEFINITION_UPDATE, resource_type="rfm_segment_definition",
                 resource_id=definition.pk, tenant=tenant,
                 changes=changes_between(before, {key: getattr(definition, key) for key in data}))
    return definition


def rfm_compute(*, tenant, as_of: datetime.date, job=None, history: OrderHistory | None = None) -> dict:
    """Score every customer with a counted order by ``as_of``: recency (days since the last
    purchase), frequency (orders), monetary (sum); quintile scores 1–5 with ties sharing a score;
    segment = the first active definition (by priority) whose box holds the scores. Replaces the
    snapshot for ``as_of`` and the current rows unless a later as-of is already current.
    ``history`` is the run's order history (read here when not given). Returns the step summary."""
    rfm_definitions_ensure()
    latest = CustomerRfm.objects.aggregate(latest=Max("as_of"))["latest"]
    replace_current = latest is None or as_of >= latest
    if history is None:
        history = order_history_load(tenant=tenant, as_of=as_of)
    facts = history.until(day_number(as_of)).facts()
    recency = day_number(as_of) - facts.last_day
    r, f, m = quintile(recency, descending=True), quintile(facts.orders), quintile(facts.spend)
    cells = rfm_cells_sql()
    codes = sorted(set(cells.flat))
    cell_index = np.vectorize(codes.index, otypes=[np.int16])(cells)
    staged = stage_arrays(table="_rfm_stage", columns=[
        ("customer_id", "int8", facts.customer_id), ("recency_days", "int4", recency),
        ("frequency", "int4", facts.orders), ("monetary_cents", "int8", facts.spend), ("r", "int2", r),
        ("f", "int2", f), ("m", "int2", m), ("segment", "int2", cell_index[r - 1, f - 1, m - 1]),
    ])
    segments = rfm_write_sql(stage="_rfm_stage", codes=codes, as_of=as_of, replace_current=replace_current,
                             rows=staged)
    unstage("_rfm_stage")
    return {"rows": len(facts), "customers": len(facts), "current_replaced": replace_current, "segments": segments}
