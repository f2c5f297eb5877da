"""The visual segment builder: rows of field, operator and value in AND/OR groups posted as plain
form fields, a live count, rules shown as a sentence; a segment with only a name is a form error."""

from __future__ import annotations

from decimal import Decimal

from django.http import QueryDict
from django.utils import translation
from django_tenants.utils import tenant_context

from analytics.builder import builder_catalog, rules_from_post, rules_sentence
from analytics.models import CustomerChurn, Segment
from analytics.rules import RuleError
from tests.analytics.factories import CustomerChurnFactory
from tests.customers.factories import CustomerFactory

import pytest


def post(**fields) -> QueryDict:
    data = QueryDict(mutable=True)
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            data.appendlist(key.replace("__", "-"), item)
    return data


def test_rows_become_the_apis_rules_with_typed_values():
    data = post(op="or", g0__op="and", g0__r0__field="churn_band", g0__r0__operator="in",
                g0__r0__value=["at_risk", "churning"], g0__r0__value2="",
                g0__r1__field="total_spent", g0__r1__operator="gte", g0__r1__value="100.5",
                g0__r2__field="", g0__r2__operator="eq",  # the blank row at the end is ignored
                g1__op="or", g1__r0__field="days_since_last_purchase", g1__r0__operator="between",
                g1__r0__value="30", g1__r0__value2="90",
                g1__r1__field="marketing_consent", g1__r1__operator="eq", g1__r1__value="true")
    assert rules_from_post(data) == {"op": "or", "rules": [
        {"op": "and", "rules": [{"field": "churn_band", "operator": "in", "value": ["at_risk", "churning"]},
                                {"field": "total_spent", "operator": "gte", "value": 100.5}]},
        {"op": "or", "rules": [{"field": "days_since_last_purchase", "operator": "between", "value": [30, 90]},
                               {"field": "marketing_consent", "operator": "eq", "value": True}]},
    ]}


def test_a_number_in_the_readers_separators():
    with translation.override("es"):
        rules = rules_from_post(post(g0__r0__field="total_spent", g0__r0__operator="gte", g0__r0__value="1.234,50"))
    assert rules == {"op": "and", "rules": [{"field": "total_spent", "operator": "gte", "value": 1234.5}]}


@pytest.mark.parametrize("fields, message", [
    ({}, "Add at least one condition"),
    ({"g0__r0__field": "", "g0__r0__operator": "eq", "g0__r0__value": "x"}, "Add at least one condition"),
    ({"g0__r0__field": "total_spent", "g0__r0__operator": "in"}, "Group 1, condition 1: choose how to compare"),
    ({"g0__r0__field": "total_spent", "g0__r0__operator": "gte"}, "Group 1, condition 1: give a value"),
    ({"g0__r0__field": "clv_tier", "g0__r0__operator": "eq", "g0__r0__value": "gold"}, "clv_tier must be one of"),
    ({"g0__r0__field": "total_orders", "g0__r0__operator": "between", "g0__r0__value": "1"}, "both ends"),
])
def test_what_cannot_be_a_rule_is_a_clear_error(fields, message):
    with pytest.raises(RuleError) as caught:
        rules_from_post(post(**fields))
    assert message in caught.value.message


def test_rules_read_as_a_sentence_in_the_readers_language(world):
    rules = {"op": "or", "rules": [
        {"op": "and", "rules": [{"field": "churn_band", "operator": "in", "value": ["at_risk", "churning"]},
                                {"field": "total_spent", "operator": "gte", "value": 1500}]},
        {"field": "country", "operator": "eq", "value": "AR"}]}
    with tenant_context(world.alpha):
        english = rules_sentence(rules)
        with translation.override("es"):
            spanish = rules_sentence(rules)
    assert english == "(Churn band is one of At risk, Churning and Total spent is at least 1,500) or Country (ISO code) is “AR”"
    assert spanish.startswith("(") and " o " in spanish and "1.500" in spanish and "Total gastado" in spanish


def test_every_field_of_the_rules_is_in_the_catalog_with_its_choices(world):
    with tenant_context(world.alpha):
        catalog = {entry["name"]: entry for entry in builder_catalog()}
    assert {c["value"] for c in catalog["churn_band"]["choices"]} == set(CustomerChurn.Band.values)
    assert "champions" in {c["value"] for c in catalog["rfm_segment"]["choices"]}
    assert catalog["total_spent"]["choices"] is None and catalog["marketing_consent"]["choices"]


def test_saving_with_only_a_name_is_a_form_error_and_creates_nothing(world, alpha_client):
    analyst = alpha_client(world.user("alpha_analyst"))
    page = analyst.post("/analytics/segments/", {"name": "Just a name", "is_active": "on"})
    assert page.status_code == 400 and "Add at least one condition" in page.content.decode()
    with tenant_context(world.alpha):
        assert not Segment.objects.filter(name="Just a name").exists()


def test_the_builder_creates_a_segment_shown_as_a_sentence(world, alpha_client):
    with tenant_context(world.alpha):
        big = CustomerFactory(total_spent=Decimal("900.00"))
        CustomerFactory(total_spent=Decimal("10.00"))
        CustomerChurnFactory(customer=big, band=CustomerChurn.Band.AT_RISK)
    analyst = alpha_client(world.user("alpha_analyst"))
    form = {"name": "Big spenders at risk", "is_active": "on", "op": "and", "g0-op": "and",
            "g0-r0-field": "total_spent", "g0-r0-operator": "gte", "g0-r0-value": "500",
            "g0-r1-field": "churn_band", "g0-r1-operator": "eq", "g0-r1-value": "at_risk"}
    count = analyst.post("/analytics/segments/count/", form)
    assert count.status_code == 200 and count.json()["count"] == 1 and count.json()["text"] == "1 customer matches"
    assert count.json()["sentence"] == "Total spent is at least 500 and Churn band is At risk"
    created = analyst.post("/analytics/segments/", form)
    assert created.status_code == 302
    with tenant_context(world.alpha):
        segment = Segment.objects.get(name="Big spenders at risk")
    assert segment.rules == {"op": "and", "rules": [{"field": "total_spent", "operator": "gte", "value": 500},
                                                     {"field": "churn_band", "operator": "eq", "value": "at_risk"}]}
    assert segment.member_count == 1
    detail = analyst.get(created["Location"]).content.decode()
    assert "Total spent is at least 500 and Churn band is At risk" in detail and "{&#x27;op" not in detail
    listing = analyst.get("/analytics/segments/").content.decode()
    assert "Total spent is at least 500 and Churn band is At risk" in listing


def test_the_count_without_javascript_and_adding_a_group(world, alpha_client):
    analyst = alpha_client(world.user("alpha_analyst"))
    form = {"name": "x", "g0-op": "and", "g0-r0-field": "country", "g0-r0-operator": "eq", "g0-r0-value": "ZZ"}
    page = analyst.post("/analytics/segments/", {**form, "preview": "1"}).content.decode()
    assert "0 customers match" in page and 'value="ZZ"' in page
    page = analyst.post("/analytics/segments/", {**form, "add": "group"}).content.decode()
    assert 'name="g1-op"' in page and 'name="g1-r0-field"' in page and 'value="ZZ"' in page


def test_the_count_is_for_holders_of_analytics_and_says_what_is_wrong(world, alpha_client):
    form = {"g0-r0-field": "total_spent", "g0-r0-operator": "gte", "g0-r0-value": "abc"}
    viewer = alpha_client(world.user("alpha_viewer"))
    assert viewer.post("/analytics/segments/count/", form).status_code == 403
    assert viewer.post("/analytics/segments/", {"name": "x", **form}).status_code == 403
    bad = alpha_client(world.user("alpha_analyst")).post("/analytics/segments/count/", form)
    assert bad.status_code == 400 and "not a valid number value" in bad.json()["error"]
    assert alpha_client(world.user("alpha_analyst")).get("/analytics/segments/count/").status_code == 405
