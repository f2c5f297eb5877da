import datetime

import pytest

from analytics.models import SegmentCount, SegmentMembership
from analytics.rules import RuleError, rules_to_q
from analytics.services import rfm_compute, segment_create, segment_update, segments_materialize

AS_OF = datetime.date(2025, 6, 30)
D = datetime.timedelta


@pytest.fixture
def store(alpha, customer_with):
    from customers.models import LoyaltyAccount

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
