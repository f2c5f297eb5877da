"""RFM: editable segment definitions and the scoring step."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import Count, Max

from analytics.models import CustomerRfm, RfmSegmentDefinition, RfmSnapshot
from analytics.sql import rfm_compute_sql
from cdp.context import Actor
from cdp.exceptions import ApplicationError, NotFound
from tenants.services import audit_record

# The usual R × F map (M refines nothing by default). Every (R, F) cell is covered, so every
# scored customer gets a segment; "lost" is checked before the wider "hibernating" box.
DEFAULT_DEFINITIONS = [
    # code, name, priority, (r_min, r_max), (f_min, f_max), color, suggested action
    ("champions", "Champions", 10, (5, 5), (4, 5), "#15803d", "Reward them; early access, ask for reviews."),
    ("loyal", "Loyal", 20, (3, 4), (4, 5), "#16a34a", "Upsell higher-value products; loyalty perks."),
    ("potential_loyalist", "Potential Loyalists", 30, (4, 5), (2, 3), "#65a30d", "Membership or loyalty offer."),
    ("new", "New", 40, (5, 5), (1, 1), "#0891b2", "Onboarding; help them succeed with the first purchase."),
    ("promising", "Promising", 50, (4, 4), (1, 1), "#0284c7", "Build brand awareness; free trials."),
    ("need_attention", "Need Attention", 60, (3, 3), (3, 3), "#ca8a04", "Limited-time offers based on history."),
    ("about_to_sleep", "About to Sleep", 70, (3, 3), (1, 2), "#d97706", "Share popular products; reconnect."),
    ("cant_lose", "Can't Lose Them", 80, (1, 2), (5, 5), "#dc2626", "Win them back; talk to them."),
    ("at_risk", "At Risk", 90, (1, 2), (3, 4), "#ea580c", "Personalized reactivation campaigns."),
    ("lost", "Lost", 100, (1, 1), (1, 2), "#6b7280", "Revive interest with a reach-out; otherwise ignore."),
    ("hibernating", "Hibernating", 110, (1, 2), (1, 2), "#94a3b8", "Offer relevant products and discounts."),
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
    definition = RfmSegmentDefinition.objects.select_for_update().filter(pk=definition_id).first()
    if definition is None:
        raise NotFound("No such RFM segment definition.")
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ApplicationError("Unknown fields.", code="invalid", fields={key: ["Not editable."] for key in unknown})
    before = {key: getattr(definition, key) for key in data}
    for key, value in data.items():
        setattr(definition, key, value)
    definition.full_clean()
    definition.save()
    audit_record(actor=actor, action="analytics.rfm_definition.update", resource_type="rfm_segment_definition",
                 resource_id=definition.pk, tenant=tenant, changes={"before": before, "after": data})
    return definition


def rfm_compute(*, tenant, as_of: datetime.date, job=None) -> dict:
    """Score RFM as of ``as_of`` (snapshot replaced, current rows replaced unless a later as-of
    is already current). Returns the step summary."""
    rfm_definitions_ensure()
    latest = CustomerRfm.objects.aggregate(latest=Max("as_of"))["latest"]
    replace_current = latest is None or as_of >= latest
    count = rfm_compute_sql(as_of=as_of, tz=tenant.setting("timezone"), replace_current=replace_current)
    segments = dict(
        RfmSnapshot.objects.filter(as_of=as_of).values("segment").order_by("segment")
        .annotate(n=Count("id")).values_list("segment", "n")
    )
    return {"rows": count, "customers": count, "current_replaced": replace_current, "segments": segments}
