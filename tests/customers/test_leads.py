"""Customers without orders (issue #21 item 7): leads and subscribers through the API and the
order ingest's engine (identity resolution, priorities, change log), single and bulk."""

from __future__ import annotations

import json

import pytest
from django_tenants.utils import tenant_context

from customers.models import Customer, CustomerChangeLog, CustomerIdentity, Order
from customers.services import source_priority_set
from tenants.models import AuditLog
from tests.conftest import api_client
from tests.customers.factories import order_record


@pytest.fixture
def alpha_api(world, api_key):
    return api_client("alpha.localhost", api_key(world.alpha))


def post(client, url, body, content_type="application/json"):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(url, data=data, content_type=content_type)


def lead(**values):
    return {"kind": "lead", "source": "landing", "email": "Ana@Example.com", "first_name": "Ana",
            "country": "AR", **values}


def test_a_lead_creates_a_customer_without_orders_tagged_with_its_kind(world, alpha_api):
    # when
    response = post(alpha_api, "/api/v1/customers/", lead(external_id="L-1"))
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "created" and body["customer"]["email"] == "ana@example.com"
    with tenant_context(world.alpha):
        customer = Customer.objects.get(pk=body["customer_id"])
        assert (customer.first_name, customer.source, customer.tags, customer.total_orders) == (
            "Ana", "landing", ["lead"], 0)
        assert not Order.objects.exists()
        assert CustomerIdentity.objects.filter(customer=customer, source="landing", external_id="L-1").exists()
        assert AuditLog.objects.filter(action="customers.ingest", tenant=world.alpha).exists()


def test_re_delivery_is_unchanged_and_writes_nothing(world, alpha_api):
    first = post(alpha_api, "/api/v1/customers/", lead())
    with tenant_context(world.alpha):
        logs = CustomerChangeLog.objects.count()

    again = post(alpha_api, "/api/v1/customers/", lead())

    assert again.status_code == 200 and again.json()["status"] == "unchanged"
    assert again.json()["customer_id"] == first.json()["customer_id"]
    with tenant_context(world.alpha):
        assert Customer.objects.count() == 1 and CustomerChangeLog.objects.count() == logs


def test_a_subscriber_joins_the_buyer_with_the_same_email_under_the_priorities(world, alpha_api, actor):
    # given a buyer known from VTEX, which outranks the newsletter
    bought = post(alpha_api, "/api/v1/orders/ingest/", {"orders": [order_record(1)]}).json()["results"][0]
    with tenant_context(world.alpha):
        source_priority_set(source="vtex", priority=50, actor=actor)
    # when the same person subscribes with another first name and a phone
    response = post(alpha_api, "/api/v1/customers/", {"kind": "subscriber", "source": "newsletter",
                                                      "email": "BUYER1@example.com", "first_name": "Lu",
                                                      "phone": "+54 9 11 5555-1234"})
    # then one customer: the empty phone is filled, the outranked name kept, both logged as they are
    assert response.status_code == 200, response.content
    assert response.json() == {**response.json(), "status": "updated", "customer_id": bought["customer_id"]}
    with tenant_context(world.alpha):
        customer = Customer.objects.get()
        assert customer.first_name == "Lucía" and customer.phone and customer.total_orders == 1
        assert "subscriber" in customer.tags
        fields = set(CustomerChangeLog.objects.filter(customer=customer).values_list("field", flat=True))
        assert {"phone", "tags"} <= fields and "first_name" not in fields


def test_invalid_records_are_field_errors_and_store_nothing(world, alpha_api):
    bad = post(alpha_api, "/api/v1/customers/", {"email": "not-an-email", "kind": "buyer", "colour": "red"})
    none = post(alpha_api, "/api/v1/customers/", {"first_name": "Nobody"})
    wrong = post(alpha_api, "/api/v1/customers/", ["a list"])

    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"email", "kind", "colour"}
    assert none.status_code == 400 and "non_field_errors" in none.json()["error"]["fields"]
    assert wrong.status_code == 400
    with tenant_context(world.alpha):
        assert not Customer.objects.exists()


@pytest.mark.parametrize("role", ["alpha_viewer", "alpha_analyst"])
def test_lower_roles_cannot_create_leads(world, alpha_client, role):
    client = alpha_client(world.user(role))
    assert post(client, "/api/v1/customers/", lead()).status_code == 403
    assert post(client, "/api/v1/customers/bulk/", {"customers": [lead()]}).status_code == 403
    with tenant_context(world.alpha):
        assert not Customer.objects.exists()


def test_read_only_key_cannot_create_leads(world, api_key):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))
    assert post(client, "/api/v1/customers/", lead()).status_code == 403


def test_a_sender_without_sensitive_cannot_set_the_document(world, api_key):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write"]))
    response = post(client, "/api/v1/customers/", lead(document_type="dni", document_number="30111222"))
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"document_type", "document_number"}


def test_bulk_json_csv_and_json_lines(world, alpha_api):
    as_json = post(alpha_api, "/api/v1/customers/bulk/", {"customers": [lead(), lead(email="x")]})
    as_csv = post(alpha_api, "/api/v1/customers/bulk/",
                  "kind,email,first_name,address_line1,address_city\n"
                  "subscriber,bea@example.com,Bea,Av. Corrientes 1,CABA\n"
                  "lead,ana@example.com,,,\n", content_type="text/csv")
    as_lines = post(alpha_api, "/api/v1/customers/bulk/",
                    json.dumps(lead(email="cata@example.com")) + "\n\n{broken\n", content_type="application/x-ndjson")

    assert as_json.status_code == 200, as_json.content
    assert [r["status"] for r in as_json.json()["results"]] == ["created", "rejected"]
    assert as_json.json()["results"][1]["errors"] == {"email": ["Enter a valid email address."]}
    assert [r["status"] for r in as_csv.json()["results"]] == ["created", "unchanged"], as_csv.content
    assert [r["status"] for r in as_lines.json()["results"]] == ["created", "rejected"]
    with tenant_context(world.alpha):
        bea = Customer.objects.get(email="bea@example.com")
        assert bea.tags == ["subscriber"] and bea.addresses.get().city == "CABA"
        assert Customer.objects.count() == 3


def test_bulk_refuses_more_than_a_thousand(alpha_api):
    response = post(alpha_api, "/api/v1/customers/bulk/", {"customers": [lead()] * 1001})
    assert response.status_code == 400 and response.json()["error"]["code"] == "batch_too_large"


def test_two_records_of_one_new_person_in_a_batch_make_one_customer(world, alpha_api):
    response = post(alpha_api, "/api/v1/customers/bulk/", {"customers": [
        lead(external_id="L-9", email=None), lead(external_id="L-9", phone="+54 11 4444-5555")]})
    assert response.status_code == 200, response.content
    ids = {r["customer_id"] for r in response.json()["results"]}
    assert len(ids) == 1
    with tenant_context(world.alpha):
        customer = Customer.objects.get()
        assert customer.email == "ana@example.com" and customer.phone


def test_a_lead_on_another_tenant_stays_there(world, api_key, alpha_api):
    post(alpha_api, "/api/v1/customers/", lead())
    beta = api_client("beta.localhost", api_key(world.beta))
    assert post(beta, "/api/v1/customers/", lead()).json()["status"] == "created"
    with tenant_context(world.beta):
        assert Customer.objects.count() == 1


def test_portal_form_adds_a_lead_and_refuses_bad_input(world, alpha_client):
    client = alpha_client(world.user("alpha_admin"))
    assert client.get("/customers/new/").status_code == 200
    bad = client.post("/customers/new/", {"kind": "lead", "email": "nope"})
    saved = client.post("/customers/new/", {"kind": "subscriber", "email": "Eva@Example.com", "first_name": "Eva"})

    assert bad.status_code == 400 and bad.context["form"].errors["email"]
    assert saved.status_code == 302
    with tenant_context(world.alpha):
        eva = Customer.objects.get()
        assert (eva.email, eva.source, eva.tags) == ("eva@example.com", "portal", ["subscriber"])
        assert saved["Location"].endswith(f"/customers/{eva.pk}/")


def test_portal_form_is_closed_to_viewers(world, alpha_client):
    client = alpha_client(world.user("alpha_viewer"))
    assert client.get("/customers/new/").status_code == 403
    assert client.post("/customers/new/", {"kind": "lead", "email": "a@example.com"}).status_code == 403
    with tenant_context(world.alpha):
        assert not Customer.objects.exists()


def test_import_command_reads_csv_and_json_lines_and_reports_rejections(world, tmp_path, capsys):
    from django.core.management import call_command

    csv_file = tmp_path / "newsletter.csv"
    csv_file.write_text("email,first_name,kind\nana@example.com,Ana,subscriber\nbad-email,X,lead\n")
    lines = tmp_path / "leads.jsonl"
    lines.write_text(json.dumps({"email": "ana@example.com", "phone": "+54 11 4444-5555"}) + "\n")

    call_command("import_customers", "--tenant", "alpha", str(csv_file), "--source", "newsletter")
    assert "2 records: 1 created, 0 updated, 0 unchanged, 1 rejected" in capsys.readouterr().out
    call_command("import_customers", "--tenant", "alpha", str(lines))
    assert "1 updated" in capsys.readouterr().out
    rejected = [json.loads(row) for row in (tmp_path / "newsletter.rejected.jsonl").read_text().splitlines()]
    assert rejected == [{"record": 2, "errors": {"email": ["Enter a valid email address."]}}]
    with tenant_context(world.alpha):
        ana = Customer.objects.get()
        assert (ana.source, ana.tags, bool(ana.phone)) == ("newsletter", ["subscriber", "lead"], True)
