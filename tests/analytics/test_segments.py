import datetime

import pytest

from analytics.models import SegmentCount, SegmentMembership
from analytics.rules import RuleError, rules_to_q
from analytics.services import rfm_compute, segment_create, segment_update, segments_materialize

AS_OF = datetime.date(2025, 6, 30)
D = datetime.timedelta


@pytest.fixture
def store(alpha, customer_with):
    from loyalty.models import LoyaltyAccount

    ar_big = customer_with(alpha, [(AS_OF - D(days=2), 500), (AS_OF - D(days=20), 500)], country="AR")
    ar_small = customer_with(alpha, [(AS_OF - D(days=200), 20)], country="AR")
    br_big = customer_with(alpha, [(AS_OF - D(days=100), 900)], country="BR", tags=["vip"])
    cl_none = customer_with(alpha, [], country="CL")
    LoyaltyAccount.objects.create(customer=br_big, tier="gold")
    return {"ar_big": ar_big, "ar_small": ar_small, "br_big": br_big, "cl_none": cl_none}


def members(segment):
    return set(SegmentMembership.objects.filter(segment=segment).values_list("customer_id", flat=True))


def test_and_or_groups_select_the_right_customers(store, actor, alpha):
    rules = {"op": "or", "rules": [
        {"op": "and", "rules": [{"field": "country", "operator": "eq", "value": "AR"},
                                {"field": "total_spent", "operator": "gte", "value": 100}]},
        {"field": "loyalty_tier", "operator": "in", "value": ["gold", "platinum"]},
    ]}
    segment = segment_create(name="Big AR or gold", rules=rules, actor=actor, tenant=alpha)
    assert members(segment) == {store["ar_big"].pk, store["br_big"].pk}
    assert segment.member_count == 2
    tagged = segment_create(name="VIP tag", rules={"op": "and", "rules": [
        {"field": "tag", "operator": "contains", "value": "vip"}]}, actor=actor, tenant=alpha)
    assert members(tagged) == {store["br_big"].pk}


def test_rules_over_scores_and_rematerialization(store, actor, alpha):
    rfm_compute(tenant=alpha, as_of=AS_OF)
    segment = segment_create(name="Recent", rules={"op": "and", "rules": [
        {"field": "rfm_r_score", "operator": "gte", "value": 4}]}, actor=actor, tenant=alpha)
    assert members(segment) == {store["ar_big"].pk}
    segment_update(segment_id=segment.pk, data={"rules": {"op": "and", "rules": [
        {"field": "rfm_r_score", "operator": "lte", "value": 3}]}}, actor=actor, tenant=alpha)
    assert members(segment) == {store["ar_small"].pk, store["br_big"].pk}
    segments_materialize(tenant=alpha, as_of=AS_OF)
    assert SegmentCount.objects.get(segment=segment, date=AS_OF).members == 2


def test_days_since_last_purchase(store, actor, alpha):
    # last purchase dates are relative to AS_OF, which is in the past: compare with now
    days = (datetime.date.today() - AS_OF).days
    segment = segment_create(name="Lapsed", rules={"op": "and", "rules": [
        {"field": "days_since_last_purchase", "operator": "gt", "value": days + 50}]}, actor=actor, tenant=alpha)
    assert members(segment) == {store["ar_small"].pk, store["br_big"].pk}


@pytest.mark.parametrize("rules, message", [
    ({"op": "xor", "rules": [{"field": "country", "operator": "eq", "value": "AR"}]}, "op must be"),
    ({"op": "and", "rules": []}, "non-empty"),
    ({"op": "and", "rules": [{"field": "password", "operator": "eq", "value": "x"}]}, "unknown field"),
    ({"op": "and", "rules": [{"field": "country", "operator": "gt", "value": "AR"}]}, "does not apply"),
    ({"op": "and", "rules": [{"field": "total_spent", "operator": "gte", "value": "1; DROP TABLE x"}]}, "not a valid"),
    ({"op": "and", "rules": [{"field": "clv_tier", "operator": "eq", "value": "gold"}]}, "must be one of"),
    ({"op": "and", "rules": [{"field": "country", "operator": "in", "value": "AR"}]}, "list"),
    ("SELECT 1", "must be an object"),
])
def test_invalid_rules_are_refused_with_the_path(rules, message):
    with pytest.raises(RuleError) as exc:
        rules_to_q(rules)
    assert message in exc.value.message and exc.value.code == "invalid_rules"
    assert exc.value.fields["rules"]


@pytest.fixture
def heard():
    """Subscribe to analytics' events for one test; returns the list of (event, payload) heard."""
    from analytics import registry

    events: list[tuple[str, dict]] = []
    handlers = {event: (lambda event=event, **kw: events.append((event, kw))) for event in registry.EVENTS}
    for event, handler in handlers.items():
        registry.subscribe(event, handler)
    yield events
    for event, handler in handlers.items():
        registry.unsubscribe(event, handler)


def test_rematerialization_publishes_who_entered_and_who_left(store, actor, alpha, heard,
                                                              django_capture_on_commit_callbacks):
    rfm_compute(tenant=alpha, as_of=AS_OF)
    with django_capture_on_commit_callbacks(execute=True):
        segment = segment_create(name="Recent", rules={"op": "and", "rules": [
            {"field": "rfm_r_score", "operator": "gte", "value": 4}]}, actor=actor, tenant=alpha)
    assert heard == [("segment.entered", {"segment_id": segment.pk, "segment_name": "Recent",
                                          "customer_ids": [store["ar_big"].pk]})]
    heard.clear()
    with django_capture_on_commit_callbacks(execute=True):
        segment_update(segment_id=segment.pk, data={"rules": {"op": "and", "rules": [
            {"field": "rfm_r_score", "operator": "lte", "value": 3}]}}, actor=actor, tenant=alpha)
    by_event = {event: payload["customer_ids"] for event, payload in heard}
    assert by_event["segment.left"] == [store["ar_big"].pk]
    assert by_event["segment.entered"] == sorted([store["ar_small"].pk, store["br_big"].pk])
    heard.clear()
    with django_capture_on_commit_callbacks(execute=True):
        segments_materialize(tenant=alpha, as_of=AS_OF)  # nobody moved: nothing to say
    assert heard == []


def test_a_completed_run_is_published(store, actor, alpha, heard, django_capture_on_commit_callbacks):
    from analytics.services import analytics_run

    with django_capture_on_commit_callbacks(execute=True):
        job = analytics_run(tenant=alpha, actor=actor, as_of=AS_OF, only=["rfm"])
    (event, payload), = [item for item in heard if item[0] == "analytics.run_completed"]
    assert payload == {"job_id": job.pk, "as_of": "2025-06-30", "status": "succeeded", "rows": {"rfm": 3}}


def test_an_update_is_audited_as_the_fields_that_changed(store, actor, alpha):
    from tenants.models import AuditLog

    segment = segment_create(name="AR", rules={"op": "and", "rules": [
        {"field": "country", "operator": "eq", "value": "AR"}]}, actor=actor, tenant=alpha)
    segment_update(segment_id=segment.pk, data={"name": "Argentina", "is_active": True}, actor=actor, tenant=alpha)
    entry = AuditLog.objects.filter(action="analytics.segment.update", resource_id=str(segment.pk)).get()
    # one diff shape everywhere ({field: [old, new]}); the unchanged is_active is not in it
    assert entry.changes == {"name": ["AR", "Argentina"]}
