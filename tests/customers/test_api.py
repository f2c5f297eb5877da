"""The customers and orders API, through the HTTP interface integrators use."""

from __future__ import annotations

import json

import pytest
from django_tenants.utils import tenant_context

from cdp.ids import MAX_ID
from customers.models import Customer, CustomerChangeLog
from tenants.models import AuditLog
from tests.conftest import api_client
from tests.customers.factories import CreditAccountFactory, order_record


@pytest.fixture
def alpha_api(world, api_key):
    return api_client("alpha.localhost", api_key(world.alpha))


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def patch(client, url, body):
    return client.patch(url, data=json.dumps(body), content_type="application/json")


def test_ingest_answers_counts_and_per_record_results(alpha_api):
    response = post(alpha_api, "/api/v1/orders/ingest/", {"orders": [order_record(1), order_record(2, total_amount="x")]})

    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"], body["rejected"]) == (1, 0, 0, 1)
    assert body["results"][0]["status"] == "created" and body["results"][0]["order_id"]
    assert body["results"][1] == {"index": 1, "status": "rejected", "order_id": None, "customer_id": None,
                                  "errors": {"total_amount": ["Must be a number."]}}


def test_ingest_malformed_json_and_oversize_are_400_in_the_common_shape(alpha_api):
    bad = alpha_api.post("/api/v1/orders/ingest/", data="{not json", content_type="application/json")
    big = post(alpha_api, "/api/v1/orders/ingest/", {"orders": [{}] * 1001})
    missing = post(alpha_api, "/api/v1/orders/ingest/", {"records": []})

    assert bad.status_code == 400 and set(bad.json()["error"]) == {"code", "message", "fields"}
    assert big.status_code == 400 and big.json()["error"]["code"] == "batch_too_large"
    assert missing.status_code == 400 and "orders" in missing.json()["error"]["fields"]


def test_ingest_needs_write_scope(world, api_key):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))
    assert post(client, "/api/v1/orders/ingest/", {"orders": []}).status_code == 403


def test_cross_tenant_key_and_ids_are_refused(world, api_key, alpha_api):
    created = post(alpha_api, "/api/v1/orders/ingest/", {"orders": [order_record(1)]}).json()["results"][0]
    alpha_key_on_beta = api_client("beta.localhost", api_key(world.alpha))
    beta_api = api_client("beta.localhost", api_key(world.beta))

    assert alpha_key_on_beta.get("/api/v1/customers/").status_code in (401, 403)
    assert post(alpha_key_on_beta, "/api/v1/orders/ingest/", {"orders": [order_record(2)]}).status_code in (401, 403)
    assert beta_api.get(f"/api/v1/customers/{created['customer_id']}/").status_code == 404
    assert patch(beta_api, f"/api/v1/customers/{created['customer_id']}/", {"first_name": "X"}).status_code == 404
    assert beta_api.get(f"/api/v1/orders/{created['order_id']}/").status_code == 404
    assert beta_api.get("/api/v1/customers/").json()["count"] == 0
    with tenant_context(world.beta):
        assert not Customer.objects.exists()


def test_customer_list_filters_and_pagination(alpha_api):
    post(alpha_api, "/api/v1/orders/ingest/", {"orders": [
        order_record(1, total_amount="100", customer={"email": "Maria@Example.com", "first_name": "María",
                                                      "country": "AR", "document_type": "dni",
                                                      "document_number": "30.111.222"}),
        order_record(2, total_amount="900", order_date="2024-08-01T00:00:00Z",
                     customer={"first_name": "João", "last_name": "Silva", "country": "BR"}),
        order_record(3, total_amount="50", customer={"first_name": "Pedro", "country": "MX"}),
    ]})

    def ids(query):
        response = alpha_api.get(f"/api/v1/customers/?{query}")
        assert response.status_code == 200, response.content
        return [row["email"] for row in response.json()["results"]]

    assert ids("email=MARIA@example.COM") == ["maria@example.com"]
    assert ids("name=silva") == ["buyer2@example.com"]
    assert ids("document=30111222") == ["maria@example.com"]
    assert ids("country=br") == ["buyer2@example.com"]
    assert ids("spent_min=100&spent_max=900&ordering=total_spent") == ["maria@example.com", "buyer2@example.com"]
    assert ids("last_purchase_after=2024-07-01T00:00:00Z") == ["buyer2@example.com"]
    assert ids("q=pedro") == ["buyer3@example.com"]
    page = alpha_api.get("/api/v1/customers/?page_size=2&ordering=id").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]


def test_customer_360_detail_changes_orders_and_addresses(alpha_api):
    record = order_record(1, customer={"address": {"line1": "Av. Santa Fe", "number": "100", "city": "CABA",
                                                   "postal_code": "C1059"}})
    customer_id = post(alpha_api, "/api/v1/orders/ingest/", {"orders": [record]}).json()["results"][0]["customer_id"]

    detail = alpha_api.get(f"/api/v1/customers/{customer_id}/").json()
    assert detail["profile"]["email"] == "buyer1@example.com"
    assert detail["identities"] == [{"source": "vtex", "external_id": "c-1", "created_at": detail["identities"][0][
        "created_at"], "last_seen_at": detail["identities"][0]["last_seen_at"]}]
    assert detail["addresses"][0]["is_default"] is True
    assert detail["order_stats"]["orders"] == 1 and detail["recent_orders"][0]["external_order_id"] == "o-1"
    assert {"loyalty", "credit", "sections"} <= set(detail)  # sections: what other apps registered

    orders = alpha_api.get(f"/api/v1/customers/{customer_id}/orders/").json()
    assert orders["count"] == 1

    created = post(alpha_api, f"/api/v1/customers/{customer_id}/addresses/",
                   {"line1": "Calle 2", "city": "Rosario", "is_default": True})
    assert created.status_code == 201, created.content
    addresses = alpha_api.get(f"/api/v1/customers/{customer_id}/addresses/").json()
    assert [a["is_default"] for a in addresses if a["address_type"] == "shipping"].count(True) == 1
    updated = patch(alpha_api, f"/api/v1/customers/{customer_id}/addresses/{created.json()['id']}/",
                    {"postal_code": "S2000"})
    assert updated.status_code == 200 and updated.json()["postal_code"] == "S2000"
    assert alpha_api.get("/api/v1/customers/999999/").status_code == 404


def test_patch_is_logged_in_change_log_and_audit(world, alpha_api):
    customer_id = post(alpha_api, "/api/v1/orders/ingest/", {"orders": [order_record(1)]}).json()["results"][0][
        "customer_id"]

    response = patch(alpha_api, f"/api/v1/customers/{customer_id}/",
                     {"first_name": "Lucía Inés", "phone": "011 4555-1234", "reason": "called support"})

    assert response.status_code == 200, response.content
    assert response.json()["phone"] == "+541145551234"
    changes = alpha_api.get(f"/api/v1/customers/{customer_id}/changes/").json()["results"]
    by_field = {c["field"]: c for c in changes}
    assert by_field["first_name"]["old_value"] == "Lucía"
    assert by_field["first_name"]["new_value"] == "Lucía Inés"
    assert by_field["first_name"]["source"] == "manual" and by_field["first_name"]["reason"] == "called support"
    assert by_field["first_name"]["changed_by"].startswith("api-key:")
    assert AuditLog.objects.filter(tenant=world.alpha, action="customer.update", resource_id=str(customer_id)).exists()


def test_patch_errors(alpha_api, world):
    ids = [r["customer_id"] for r in post(alpha_api, "/api/v1/orders/ingest/", {"orders": [
        order_record(1), order_record(2)]}).json()["results"]]

    taken = patch(alpha_api, f"/api/v1/customers/{ids[0]}/", {"email": "BUYER2@example.com"})
    invalid = patch(alpha_api, f"/api/v1/customers/{ids[0]}/", {"email": "nope"})
    unknown_status = patch(alpha_api, f"/api/v1/customers/{ids[0]}/", {"status": "merged"})

    assert taken.status_code == 409 and taken.json()["error"]["code"] == "email_taken"
    assert invalid.status_code == 400 and "email" in invalid.json()["error"]["fields"]
    assert unknown_status.status_code == 400
    with tenant_context(world.alpha):
        assert not CustomerChangeLog.objects.filter(field="email").exists()


def test_orders_list_filters_and_detail_with_items(alpha_api):
    post(alpha_api, "/api/v1/orders/ingest/", {"orders": [
        order_record(1, source="vtex", order_date="2024-01-10T00:00:00Z"),
        order_record(2, source="mercadolibre", order_date="2024-03-10T00:00:00Z", status="cancelled"),
    ]})

    def external_ids(query):
        response = alpha_api.get(f"/api/v1/orders/?{query}")
        assert response.status_code == 200, response.content
        return [row["external_order_id"] for row in response.json()["results"]]

    assert external_ids("source=mercadolibre") == ["o-2"]
    assert external_ids("status=completed") == ["o-1"]
    assert external_ids("date_after=2024-02-01T00:00:00Z") == ["o-2"]
    assert external_ids("date_before=2024-02-01T00:00:00Z") == ["o-1"]
    listing = alpha_api.get("/api/v1/orders/?source=vtex").json()["results"][0]
    assert external_ids(f"customer={listing['customer']}") == ["o-1"]
    detail = alpha_api.get(f"/api/v1/orders/{listing['id']}/").json()
    assert detail["items"][0]["sku"] == "YERBA-1" and detail["raw"]["external_order_id"] == "o-1"


def test_ingest_survives_nul_characters_and_odd_types(alpha_api):
    weird = order_record(1, customer={"email": "a\x00b@x.com", "first_name": "Ana\x00", "external_id": "x\x00"},
                         raw={"k\x00": "v\x00"}, payment_method="\x00")
    odd = order_record(2, total_amount=[1], order_date=12, items=[{"sku": {"a": 1}}]) | {"customer": "nope"}

    response = post(alpha_api, "/api/v1/orders/ingest/", {"orders": [weird, odd, 5, None]})

    assert response.status_code == 200, response.content
    assert [r["status"] for r in response.json()["results"]][1:] == ["rejected"] * 3


@pytest.mark.parametrize("url", ["/api/v1/orders/?customer={}", "/api/v1/credit/?customer={}",
                                 "/api/v1/duplicates/?customer={}", "/api/v1/merges/?survivor={}",
                                 "/api/v1/credit/{account}/usages/?order={}"])
@pytest.mark.parametrize("value", ["abc", "1.5", "0", str(MAX_ID + 1)])
def test_id_filters_refuse_ids_that_cannot_exist_with_a_field_error(world, alpha_api, url, value):
    with tenant_context(world.alpha):
        account = CreditAccountFactory()
    refused = alpha_api.get(url.replace("{account}", str(account.pk)).format(value))
    assert refused.status_code == 400 and refused.json()["error"]["fields"], (url, value, refused.status_code)
    assert alpha_api.get(url.replace("{account}", str(account.pk)).format(MAX_ID)).status_code == 200
