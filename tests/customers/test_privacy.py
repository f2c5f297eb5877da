"""Pseudonymization (right to be forgotten) and export (right of access), through the API."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from customers.models import Customer, CustomerChangeLog, CustomerIdentity, Order
from customers.services.privacy import _Tokens, json_scrub
from tenants.models import AuditLog
from tests.conftest import api_client, host_client
from tests.customers.factories import (
    CreditAccountFactory,
    CreditPaymentFactory,
    CreditUsageFactory,
    loyalty_with_points,
    order_record,
)

EMAIL = "zuleika.quintanilla@example.com"
OLD_VALUES = ["zuleika.quintanilla", "Zuleika", "Quintanilla", "55550123", "5555-0123", "30123456", "30.123.456",
              "vtex-cust-98765", "Calle Falsa", "C1414XYZ", "1987-03-14", "Palermo Soho"]


@pytest.fixture
def alpha_api(world, api_key):
    return api_client("alpha.localhost", api_key(world.alpha))


def post(client, url, body=None):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


def _person_orders():
    customer = {"email": "  Zuleika.Quintanilla@Example.com ", "external_id": "vtex-cust-98765",
                "first_name": "Zuleika", "last_name": "Quintanilla", "phone": "011 5555-0123", "country": "AR",
                "city": "Palermo Soho", "document_type": "dni", "document_number": "30.123.456",
                "birth_date": "1987-03-14",
                "address": {"line1": "Calle Falsa", "number": "742", "postal_code": "C1414XYZ", "city": "Palermo Soho",
                            "state": "CABA", "country": "AR", "recipient_name": "Zuleika Quintanilla"}}
    first = order_record("z1", customer=customer, total_amount="1000.00")
    second = order_record("z2", customer={k: v for k, v in customer.items() if k != "address"}, total_amount="500.00",
                          order_date="2024-06-01T10:00:00-03:00",
                          raw={"id": "z2", "clientProfileData": {"email": EMAIL, "firstName": "Zuleika",
                                                                 "lastName": "Quintanilla", "phone": "5555-0123",
                                                                 "document": "30123456"},
                               "shippingData": {"address": {"street": "Calle Falsa", "postalCode": "C1414XYZ",
                                                            "country": "ARG", "state": "CABA"}},
                               "items": [{"name": "Yerba 1kg", "price": 75025}], "note": "gift for Zuleika"})
    return [first, second]


@pytest.fixture
def person(world, alpha_api):
    """A realistic person: two orders (raw payloads), an address, identities, a manual edit
    (change log and audit entries), loyalty ledger and credit with usage and payment."""
    body = post(alpha_api, "/api/v1/orders/ingest/", {"orders": _person_orders()}).json()
    assert body["created"] == 2, body
    customer_id = body["results"][0]["customer_id"]
    edit = alpha_api.patch(f"/api/v1/customers/{customer_id}/", data=json.dumps(
        {"notes": "Call Zuleika after 6pm", "metadata": {"nickname": "Zuleika Q"}, "last_name": "Quintanilla"}),
        content_type="application/json")
    assert edit.status_code == 200, edit.content
    with tenant_context(world.alpha):
        customer = Customer.objects.get(pk=customer_id)
        loyalty_with_points(customer, 100, 50)
        account = CreditAccountFactory(customer=customer, credit_used="200.00",
                                       approval_note="approved for Quintanilla")
        order = Order.objects.filter(customer=customer).first()
        CreditUsageFactory(account=account, order=order, amount="200.00")
        CreditPaymentFactory(account=account, note="transfer from Zuleika Quintanilla")
    return customer_id


def _schema_hits(schema: str, values: list[str]) -> list[tuple]:
    """(table, column, value) for every text/JSON column of the tenant's customers tables that
    contains one of ``values`` (case-insensitive)."""
    hits = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = %s "
            "AND table_name LIKE 'customers\\_%%' AND data_type IN ('text', 'character varying', 'jsonb', 'json', "
            "'ARRAY', 'date') ORDER BY 1, 2", [schema])
        columns = cursor.fetchall()
        assert len(columns) > 30  # the scan really covers the app's tables
        for table, column in columns:
            for value in values:
                cursor.execute(f'SELECT count(*) FROM "{schema}"."{table}" WHERE "{column}"::text ILIKE %s',
                               [f"%{value}%"])
                if cursor.fetchone()[0]:
                    hits.append((table, column, value))
    return hits


def test_pseudonymize_leaves_no_trace_and_keeps_orders_and_aggregates(world, alpha_api, person):
    # given a person known everywhere in the schema
    schema = world.alpha.schema_name
    with tenant_context(world.alpha):
        before = Customer.objects.get(pk=person)
        assert _schema_hits(schema, ["Zuleika", "30123456", "vtex-cust-98765"])  # the scan finds the data
        orders_before = list(Order.objects.filter(customer_id=person).values_list("pk", "total_amount", "status"))

    # when
    response = post(alpha_api, f"/api/v1/customers/{person}/pseudonymize/", {"reason": "ticket 4711"})

    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["is_pseudonymized"] is True and body["email"] is None and body["first_name"] == ""
    assert body["country"] == "AR" and body["total_orders"] == 2 and body["total_spent"] == "1500.00"
    with tenant_context(world.alpha):
        assert _schema_hits(schema, OLD_VALUES) == []
        after = Customer.objects.get(pk=person)
        assert (after.total_orders, after.total_spent, after.first_purchase_at, after.last_purchase_at) == (
            before.total_orders, before.total_spent, before.first_purchase_at, before.last_purchase_at)
        assert list(Order.objects.filter(customer_id=person).values_list("pk", "total_amount", "status")) == \
            orders_before
        raw = Order.objects.get(external_order_id="o-z2").raw
        assert raw["items"] == [{"name": "Yerba 1kg", "price": 75025}]  # analytics keeps the products
        assert raw["shippingData"]["address"]["state"] == "CABA" and raw["clientProfileData"]["email"] is None
        identities = list(CustomerIdentity.objects.filter(customer_id=person))
        assert identities and all(i.external_id.startswith("pz-") and i.source == "vtex" for i in identities)
        log = CustomerChangeLog.objects.get(customer_id=person, field="pseudonymization")
        assert log.old_value is None and log.new_value is None and "ticket 4711" in log.reason
    # the audit trail has the event, and no personal value anywhere for this tenant
    assert AuditLog.objects.filter(tenant=world.alpha, action="customer.pseudonymize",
                                   resource_id=str(person)).count() == 1
    dump = json.dumps(list(AuditLog.objects.filter(tenant=world.alpha).values("changes"))).lower()
    assert all(value.lower() not in dump for value in OLD_VALUES)


def test_pseudonymize_is_idempotent(world, alpha_api, person):
    first = post(alpha_api, f"/api/v1/customers/{person}/pseudonymize/")
    with tenant_context(world.alpha):
        logs, updated = CustomerChangeLog.objects.count(), Customer.objects.get(pk=person).updated_at
    audits = AuditLog.objects.filter(tenant=world.alpha).count()

    second = post(alpha_api, f"/api/v1/customers/{person}/pseudonymize/")

    assert second.status_code == 200 and second.json() == first.json()
    assert AuditLog.objects.filter(tenant=world.alpha).count() == audits
    with tenant_context(world.alpha):
        assert CustomerChangeLog.objects.count() == logs
        assert Customer.objects.get(pk=person).updated_at == updated


def test_old_identifiers_find_nothing_and_reingest_creates_a_new_customer(world, alpha_api, person):
    post(alpha_api, f"/api/v1/customers/{person}/pseudonymize/")

    for query in (f"email={EMAIL}", f"email={EMAIL.upper()}", f"q={EMAIL}", "q=Quintanilla", "name=Zuleika",
                  "document=30.123.456", "q=1155550123"):
        assert alpha_api.get(f"/api/v1/customers/?{query}").json()["count"] == 0, query

    # the same person buys again with the same email, external id and document
    again = order_record("z3", customer={"email": EMAIL, "external_id": "vtex-cust-98765", "first_name": "Zuleika",
                                         "document_type": "dni", "document_number": "30123456", "country": "AR"})
    result = post(alpha_api, "/api/v1/orders/ingest/", {"orders": [again]}).json()["results"][0]

    assert result["status"] == "created" and result["customer_id"] != person
    with tenant_context(world.alpha):
        fresh = Customer.objects.get(pk=result["customer_id"])
        assert fresh.email == EMAIL and not fresh.is_pseudonymized
        assert Order.objects.filter(customer_id=person).count() == 2  # nothing re-attached
        assert CustomerIdentity.objects.get(source="vtex", external_id="vtex-cust-98765").customer_id == fresh.pk


def test_a_resent_order_of_an_erased_person_does_not_bring_personal_data_back(world, alpha_api, person):
    post(alpha_api, f"/api/v1/customers/{person}/pseudonymize/")
    # the source re-sends the second order with a new status and the full personal payload
    resent = _person_orders()[1] | {"status": "refunded"}
    result = post(alpha_api, "/api/v1/orders/ingest/", {"orders": [resent]}).json()["results"][0]
    assert result["status"] == "updated"
    with tenant_context(world.alpha):
        order = Order.objects.get(source=resent["source"], external_order_id=resent["external_order_id"])
        assert order.status == "refunded" and order.customer_id == person
        assert "Zuleika" not in json.dumps(order.raw) and EMAIL not in json.dumps(order.raw)


def test_export_contains_everything_and_is_audited(world, alpha_api, person):
    response = alpha_api.get(f"/api/v1/customers/{person}/export/")

    assert response.status_code == 200
    data = response.json()
    assert data["customer_id"] == person and data["profile"]["email"] == EMAIL
    assert data["profile"]["document_number"] == "30123456" and data["profile"]["notes"] == "Call Zuleika after 6pm"
    assert [i["external_id"] for i in data["identities"]] == ["vtex-cust-98765"]
    assert data["addresses"][0]["line1"] == "Calle Falsa"
    assert sorted(o["external_order_id"] for o in data["orders"]) == ["o-z1", "o-z2"]
    assert all(o["items"] and o["items"][0]["sku"] == "YERBA-1" for o in data["orders"])
    assert data["orders"][1]["raw"]["clientProfileData"]["firstName"] == "Zuleika"
    assert sorted(t["points"] for t in data["loyalty"]["transactions"]) == [50, 100]
    assert data["loyalty"]["account"]["points_balance"] == 150
    assert data["credit"]["account"]["credit_used"] == "200.00"
    assert len(data["credit"]["usages"]) == 1 and len(data["credit"]["payments"]) == 1
    assert {"notes", "metadata"} <= {log["field"] for log in data["change_log"]}
    assert data["merges"] == [] and data["merged_customers"] == []
    assert AuditLog.objects.filter(tenant=world.alpha, action="customer.export", resource_id=str(person)).exists()


def test_export_includes_merged_records_and_pseudonymize_covers_them(world, alpha_api, person):
    other = post(alpha_api, "/api/v1/orders/ingest/", {"orders": [order_record(
        "zz", customer={"email": "zq.old@example.com", "external_id": "zq-old", "first_name": "Zuleika",
                        "last_name": "Quintanilla"})]}).json()["results"][0]["customer_id"]
    merge = post(alpha_api, f"/api/v1/customers/{person}/merge/", {"merged_id": other})
    assert merge.status_code == 201, merge.content

    export = alpha_api.get(f"/api/v1/customers/{person}/export/").json()
    assert [c["profile"]["id"] for c in export["merged_customers"]] == [other]
    assert export["merges"][0]["merged_id"] == other
    # the merged record is the survivor's person: it is pseudonymized through the survivor
    refused = post(alpha_api, f"/api/v1/customers/{other}/pseudonymize/")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "customer_merged"

    assert post(alpha_api, f"/api/v1/customers/{person}/pseudonymize/").status_code == 200

    with tenant_context(world.alpha):
        assert Customer.objects.get(pk=other).is_pseudonymized
        assert _schema_hits(world.alpha.schema_name, [*OLD_VALUES, "zq.old", "zq-old"]) == []
    undo = post(alpha_api, f"/api/v1/merges/{merge.json()['id']}/undo/")
    assert undo.status_code == 409 and undo.json()["error"]["code"] == "customer_pseudonymized"


def test_pseudonymized_customer_cannot_be_edited_or_merged(world, alpha_api, person):
    post(alpha_api, f"/api/v1/customers/{person}/pseudonymize/")
    other = post(alpha_api, "/api/v1/orders/ingest/", {"orders": [order_record(9)]}).json()["results"][0]

    patch = alpha_api.patch(f"/api/v1/customers/{person}/", data=json.dumps({"first_name": "X"}),
                            content_type="application/json")
    into = post(alpha_api, f"/api/v1/customers/{person}/merge/", {"merged_id": other["customer_id"]})
    away = post(alpha_api, f"/api/v1/customers/{other['customer_id']}/merge/", {"merged_id": person})

    assert patch.status_code == 409
    assert into.status_code == 409 and into.json()["error"]["code"] == "customer_pseudonymized"
    assert away.status_code == 409 and away.json()["error"]["code"] == "customer_pseudonymized"


def test_roles_cross_tenant_and_unknown_ids(world, api_key, alpha_api, person):
    viewer = host_client("alpha.localhost", world.user("alpha_viewer"))
    analyst = host_client("alpha.localhost", world.user("alpha_analyst"))
    admin = host_client("alpha.localhost", world.user("alpha_admin"))
    read_key = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))
    beta_api = api_client("beta.localhost", api_key(world.beta))
    alpha_key_on_beta = api_client("beta.localhost", api_key(world.alpha))

    # A complete copy cannot be masked: it needs unmask and sensitive (owners, admins by default).
    assert admin.get(f"/api/v1/customers/{person}/export/").status_code == 200
    assert viewer.get(f"/api/v1/customers/{person}/export/").status_code == 403
    assert analyst.get(f"/api/v1/customers/{person}/export/").status_code == 403
    assert read_key.get(f"/api/v1/customers/{person}/export/").status_code == 403
    assert post(viewer, f"/api/v1/customers/{person}/pseudonymize/").status_code == 403
    assert post(analyst, f"/api/v1/customers/{person}/pseudonymize/").status_code == 403
    assert post(read_key, f"/api/v1/customers/{person}/pseudonymize/").status_code == 403
    assert beta_api.get(f"/api/v1/customers/{person}/export/").status_code == 404
    assert post(beta_api, f"/api/v1/customers/{person}/pseudonymize/").status_code == 404
    assert alpha_key_on_beta.get(f"/api/v1/customers/{person}/export/").status_code == 401
    assert post(alpha_key_on_beta, f"/api/v1/customers/{person}/pseudonymize/").status_code == 401
    assert alpha_api.get("/api/v1/customers/999999999/export/").status_code == 404
    assert post(alpha_api, "/api/v1/customers/abc/pseudonymize/").status_code == 404
    with tenant_context(world.alpha):
        assert not Customer.objects.get(pk=person).is_pseudonymized
    assert post(admin, f"/api/v1/customers/{person}/pseudonymize/").status_code == 200


def test_admin_pseudonymize_action(world, alpha_client, person):
    client = alpha_client(world.user("alpha_admin"))

    response = client.post("/admin/customers/customer/", {"action": "pseudonymize_customers",
                                                          "_selected_action": [person]}, follow=True)

    assert response.status_code == 200 and "1 customer(s) pseudonymized" in response.content.decode()
    with tenant_context(world.alpha):
        assert Customer.objects.get(pk=person).is_pseudonymized


def test_json_scrub_keeps_shape_and_non_personal_values():
    tokens = _Tokens(["ana.lopez@example.com", "Ana López"], ["+5491144445555"], ["Ana", "López"])
    payload = {"customer": {"name": "Ana López", "email": "ana.lopez@example.com", "country": "AR",
                            "address": {"line1": "Av. Siempre Viva", "number": "742", "state": "CABA",
                                        "country": "AR"}},
               "items": [{"name": "Mate", "qty": 1}], "total": 1500.5, "contact": "call 11 4444-5555",
               "comment": "for López"}

    scrubbed = json_scrub(payload, tokens)

    assert scrubbed == {"customer": {"name": None, "email": None, "country": "AR",
                                     "address": {"line1": None, "number": None, "state": "CABA", "country": "AR"}},
                        "items": [{"name": "Mate", "qty": 1}], "total": 1500.5, "contact": None, "comment": None}
