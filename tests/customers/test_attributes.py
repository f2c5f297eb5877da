"""Custom attributes (issue #21 item 10): typed definitions, values set by API, import (the lead
ingest) and admin, change-logged, refused when invalid, usable in segment rules and exports."""

from __future__ import annotations

import datetime
import decimal
import json

import pytest
from django_tenants.utils import tenant_context

from analytics.rules import RuleError
from analytics.services import segment_create
from customers.models import AttributeDefinition, Customer, CustomerAttributeValue, CustomerChangeLog
from customers.services.attributes import attribute_definition_create, customer_attributes_set
from tenants.models import AuditLog
from tests.conftest import api_client
from tests.customers.factories import CustomerFactory


@pytest.fixture
def alpha_api(world, api_key):
    return api_client("alpha.localhost", api_key(world.alpha))


def send(client, method, url, body):
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def attributes(world, actor):
    with tenant_context(world.alpha):
        return {
            "plan": attribute_definition_create(data={"key": "plan", "label": "Plan", "type": "choice",
                                                      "choices": ["Basic", "Pro"]}, actor=actor),
            "score": attribute_definition_create(data={"key": "score", "label": "Score", "type": "number"},
                                                 actor=actor),
            "signup": attribute_definition_create(data={"key": "signup", "label": "Sign-up", "type": "date"},
                                                  actor=actor),
            "vip": attribute_definition_create(data={"key": "vip", "label": "VIP", "type": "boolean"}, actor=actor),
            "note": attribute_definition_create(data={"key": "note", "label": "Note", "type": "text"}, actor=actor),
        }


def test_definitions_through_the_api_with_field_errors(world, alpha_api):
    created = send(alpha_api, "post", "/api/v1/attributes/", {"key": "shoe_size", "label": "Shoe size",
                                                              "type": "number"})
    bad = send(alpha_api, "post", "/api/v1/attributes/", {"key": "Bad Key", "label": "", "type": "colour"})
    no_choices = send(alpha_api, "post", "/api/v1/attributes/", {"key": "tier", "label": "Tier", "type": "choice"})
    again = send(alpha_api, "post", "/api/v1/attributes/", {"key": "shoe_size", "label": "X", "type": "text"})

    assert created.status_code == 201, created.content
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {"key", "label", "type"}
    assert no_choices.status_code == 400 and "choices" in no_choices.json()["error"]["fields"]
    assert again.status_code == 400 and "key" in again.json()["error"]["fields"]
    listed = alpha_api.get("/api/v1/attributes/").json()
    assert [row["key"] for row in listed["results"]] == ["shoe_size"]
    changed = send(alpha_api, "patch", f"/api/v1/attributes/{created.json()['id']}/", {"label": "Size"})
    assert changed.status_code == 200 and changed.json()["label"] == "Size"
    with tenant_context(world.alpha):
        assert AuditLog.objects.filter(action="attribute.define", tenant=world.alpha).count() == 1
        assert AuditLog.objects.filter(action="attribute.update", tenant=world.alpha).count() == 1


@pytest.mark.parametrize("role", ["alpha_viewer", "alpha_analyst"])
def test_lower_roles_cannot_define_or_set_attributes(world, alpha_client, attributes, role):
    with tenant_context(world.alpha):
        customer = CustomerFactory()
    client = alpha_client(world.user(role))
    assert client.get("/api/v1/attributes/").status_code == 200
    assert send(client, "post", "/api/v1/attributes/", {"key": "x", "label": "X", "type": "text"}).status_code == 403
    assert send(client, "patch", f"/api/v1/customers/{customer.pk}/attributes/", {"vip": True}).status_code == 403
    with tenant_context(world.alpha):
        assert not CustomerAttributeValue.objects.exists()


def test_values_through_the_api_are_typed_logged_and_invalid_ones_refused(world, alpha_api, attributes):
    with tenant_context(world.alpha):
        customer = CustomerFactory()
    url = f"/api/v1/customers/{customer.pk}/attributes/"

    ok = send(alpha_api, "patch", url, {"plan": "pro", "score": "12.5", "signup": "2024-03-01", "vip": True,
                                        "note": " hello "})
    bad = send(alpha_api, "patch", url, {"plan": "Gold", "score": "many", "signup": "yesterday", "vip": "maybe",
                                         "colour": "red"})

    assert ok.status_code == 200, ok.content
    assert ok.json() == {"note": "hello", "plan": "Pro", "score": "12.5", "signup": "2024-03-01", "vip": True}
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"attributes.plan", "attributes.score", "attributes.signup",
                                                  "attributes.vip", "attributes.colour"}
    assert alpha_api.get(url).json()["plan"] == "Pro"  # nothing of the bad request was written
    cleared = send(alpha_api, "patch", url, {"note": None})
    assert "note" not in cleared.json()
    with tenant_context(world.alpha):
        logs = CustomerChangeLog.objects.filter(customer=customer, field__startswith="attribute.")
        assert {log.field for log in logs} == {"attribute.plan", "attribute.score", "attribute.signup",
                                               "attribute.vip", "attribute.note"}
        assert logs.filter(field="attribute.note", new_value=None).exists()
        assert AuditLog.objects.filter(action="customer.attributes_set", resource_id=str(customer.pk)).count() == 2


def test_the_lead_ingest_sets_attributes_under_the_priorities(world, alpha_api, attributes, actor):
    lead = {"email": "ana@example.com", "source": "landing", "attributes": {"plan": "basic", "score": 3}}
    created = send(alpha_api, "post", "/api/v1/customers/", lead)
    customer_id = created.json()["customer_id"]
    with tenant_context(world.alpha):
        customer_attributes_set(customer_id=customer_id, values={"plan": "Pro"}, actor=actor)
    again = send(alpha_api, "post", "/api/v1/customers/", {**lead, "attributes": {"plan": "Basic", "score": 4}})
    invalid = send(alpha_api, "post", "/api/v1/customers/", {**lead, "attributes": {"score": "lots"}})
    csv = alpha_api.post("/api/v1/customers/bulk/", data="email,attribute_vip,attribute_signup\n"
                                                         "bea@example.com,yes,2024-01-31\n",
                         content_type="text/csv")

    assert again.json()["status"] == "updated"
    assert invalid.status_code == 400 and invalid.json()["error"]["fields"] == {"attributes.score": ["Must be a number."]}
    assert csv.json()["results"][0]["status"] == "created", csv.content
    with tenant_context(world.alpha):
        values = {row.definition.key: row for row in CustomerAttributeValue.objects.filter(customer_id=customer_id)
                  .select_related("definition")}
        assert values["plan"].value_text == "Pro"  # a person's value outranks the landing page
        assert values["score"].value_number == decimal.Decimal("4")
        bea = Customer.objects.get(email="bea@example.com").attribute_values.order_by("definition__key")
        assert [(v.value_bool, v.value_date) for v in bea] == [(None, datetime.date(2024, 1, 31)), (True, None)]


def test_segment_rules_on_attributes(world, actor, attributes):
    with tenant_context(world.alpha):
        pro, basic, none = CustomerFactory(), CustomerFactory(), CustomerFactory()
        customer_attributes_set(customer_id=pro.pk, values={"plan": "Pro", "score": 50, "vip": True,
                                                            "signup": "2024-05-01"}, actor=actor)
        customer_attributes_set(customer_id=basic.pk, values={"plan": "Basic", "score": 5}, actor=actor)

        def members(*conditions):
            segment = segment_create(name=f"s{CustomerAttributeValue.objects.count()}{conditions}"[:100],
                                     rules={"op": "and", "rules": list(conditions)}, actor=actor, tenant=world.alpha)
            return set(segment.memberships.values_list("customer_id", flat=True))

        assert members({"field": "attribute", "key": "plan", "operator": "eq", "value": "Pro"}) == {pro.pk}
        assert members({"field": "attribute", "key": "plan", "operator": "ne", "value": "Pro"}) == {basic.pk, none.pk}
        assert members({"field": "attribute", "key": "score", "operator": "gt", "value": 10}) == {pro.pk}
        assert members({"field": "attribute", "key": "score", "operator": "between", "value": [1, 60]}) == {
            pro.pk, basic.pk}
        assert members({"field": "attribute", "key": "vip", "operator": "eq", "value": True}) == {pro.pk}
        assert members({"field": "attribute", "key": "signup", "operator": "gte", "value": "2024-01-01"}) == {pro.pk}
        assert members({"field": "attribute", "key": "plan", "operator": "is_empty"}) == {none.pk}
        for bad in ({"field": "attribute", "key": "nope", "operator": "eq", "value": 1},
                    {"field": "attribute", "key": "plan", "operator": "eq", "value": "Gold"},
                    {"field": "attribute", "key": "score", "operator": "eq", "value": "1; DROP TABLE x"},
                    {"field": "attribute", "key": "vip", "operator": "gt", "value": True}):
            with pytest.raises(RuleError):
                segment_create(name="bad", rules={"op": "and", "rules": [bad]}, actor=actor, tenant=world.alpha)


def test_segment_export_has_attribute_columns(world, alpha_client, actor, attributes):
    with tenant_context(world.alpha):
        customer = CustomerFactory(country="AR")
        customer_attributes_set(customer_id=customer.pk, values={"plan": "Pro", "score": "7.25"}, actor=actor)
        segment = segment_create(name="AR", rules={"op": "and", "rules": [
            {"field": "country", "operator": "eq", "value": "AR"}]}, actor=actor, tenant=world.alpha)
    client = alpha_client(world.user("alpha_owner"))
    response = client.get(f"/api/v1/analytics/segments/{segment.pk}/export.csv")
    assert response.status_code == 200, response.content
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    header = lines[0].split(",")
    assert header[-5:] == ["attribute_note", "attribute_plan", "attribute_score", "attribute_signup", "attribute_vip"]
    row = dict(zip(header, lines[1].split(","), strict=True))
    assert (row["attribute_plan"], row["attribute_score"], row["attribute_vip"]) == ("Pro", "7.25", "")


def test_admin_sets_a_value_through_the_service_and_shows_refusals_on_the_form(world, alpha_client, attributes):
    with tenant_context(world.alpha):
        customer = CustomerFactory()
    client = alpha_client(world.user("alpha_owner"))
    assert client.get("/admin/customers/attributedefinition/").status_code == 200
    assert client.get("/admin/customers/customerattributevalue/add/").status_code == 200
    refused = client.post("/admin/customers/customerattributevalue/add/", {
        "customer": customer.pk, "definition": attributes["score"].pk, "value": "abc"})
    assert refused.status_code == 200
    saved = client.post("/admin/customers/customerattributevalue/add/", {
        "customer": customer.pk, "definition": attributes["score"].pk, "value": "42"})
    assert saved.status_code == 302, saved.context["adminform"].form.errors if saved.context else ""
    defined = client.post("/admin/customers/attributedefinition/add/", {
        "key": "color", "label": "Color", "type": "choice", "choices": "", "description": "", "is_active": "on"})
    assert defined.status_code == 200 and "choices" in defined.context["adminform"].form.errors
    with tenant_context(world.alpha):
        assert CustomerAttributeValue.objects.get(customer=customer).value_number == 42
        assert CustomerChangeLog.objects.filter(customer=customer, field="attribute.score").exists()
        assert not AttributeDefinition.objects.filter(key="color").exists()


def test_attributes_of_another_tenant_are_not_visible(world, api_key, attributes):
    beta = api_client("beta.localhost", api_key(world.beta))
    assert beta.get("/api/v1/attributes/").json()["count"] == 0


def test_portal_page_sets_values_and_shows_refusals(world, alpha_client, attributes):
    with tenant_context(world.alpha):
        customer = CustomerFactory()
    url = f"/customers/{customer.pk}/attributes/"
    admin = alpha_client(world.user("alpha_admin"))
    assert admin.get(url).status_code == 200
    bad = admin.post(url, {"score": "abc", "plan": "Pro"})
    saved = admin.post(url, {"score": "3", "plan": "Pro", "vip": "true", "signup": "", "note": ""})

    assert bad.status_code == 400 and bad.context["form"].errors["score"] == ["Must be a number."]
    assert saved.status_code == 302
    with tenant_context(world.alpha):
        assert {v.definition.key for v in CustomerAttributeValue.objects.filter(customer=customer)} == {
            "score", "plan", "vip"}
    viewer = alpha_client(world.user("alpha_viewer"))
    assert viewer.get(url).status_code == 200  # reads, without a form
    assert viewer.post(url, {"score": "9"}).status_code == 403
    with tenant_context(world.alpha):
        assert CustomerAttributeValue.objects.get(customer=customer, definition__key="score").value_number == 3


def test_pseudonymization_erases_values_and_the_export_includes_them(world, actor, attributes):
    from customers.services.privacy import customer_export, customer_pseudonymize

    with tenant_context(world.alpha):
        customer = CustomerFactory()
        customer_attributes_set(customer_id=customer.pk, values={"note": "allergic to nuts", "score": 3}, actor=actor)
        assert customer_export(customer_id=customer.pk, actor=actor)["attributes"] == {"note": "allergic to nuts",
                                                                                       "score": "3"}
        customer_pseudonymize(customer_id=customer.pk, actor=actor)
        assert not CustomerAttributeValue.objects.filter(customer=customer).exists()
        logs = CustomerChangeLog.objects.filter(customer=customer, field__startswith="attribute.")
        assert logs.exists() and not logs.exclude(old_value=None, new_value=None).exists()


def test_a_merge_moves_the_values_the_survivor_lacks_and_its_undo_moves_them_back(world, actor, attributes):
    from customers.services.merge import customer_merge, merge_undo

    with tenant_context(world.alpha):
        survivor, merged = CustomerFactory(), CustomerFactory()
        customer_attributes_set(customer_id=survivor.pk, values={"plan": "Pro"}, actor=actor)
        customer_attributes_set(customer_id=merged.pk, values={"plan": "Basic", "vip": True}, actor=actor)

        merge = customer_merge(survivor_id=survivor.pk, merged_id=merged.pk, actor=actor)
        held = {(v.customer_id, v.definition.key) for v in CustomerAttributeValue.objects.select_related("definition")}
        assert held == {(survivor.pk, "plan"), (survivor.pk, "vip"), (merged.pk, "plan")}
        merge_undo(merge_id=merge.pk, actor=actor)
        held = {(v.customer_id, v.definition.key) for v in CustomerAttributeValue.objects.select_related("definition")}
        assert held == {(survivor.pk, "plan"), (merged.pk, "vip"), (merged.pk, "plan")}
