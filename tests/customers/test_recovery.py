"""Recovery (issue #21 item 6): revert one logged change, or all changes of one source after a
date, through the same services, itself change-logged; empty never overwrites; an erased customer
is never brought back."""

from __future__ import annotations

import datetime
import json

import pytest
from django.db.models import F
from django.utils import timezone
from django_tenants.utils import tenant_context

from cdp.context import Actor
from customers.models import Customer, CustomerChangeLog
from customers.services import customer_update
from customers.services.privacy import customer_pseudonymize
from customers.services.profile import source_priority_set
from tenants.models import AuditLog
from tests.conftest import api_client, host_client
from tests.customers.factories import CustomerFactory, order_record

SYSTEM = Actor.system("tests")


def post(client, url, body=None):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def edited(world):
    """A customer whose city a person changed from Rosario to Wrongtown."""
    with tenant_context(world.alpha):
        customer = CustomerFactory(city="Rosario", first_name="Ana", email="ana@example.com")
        customer_update(customer_id=customer.pk, data={"city": "Wrongtown"}, actor=SYSTEM, reason="typo")
        change = CustomerChangeLog.objects.get(customer=customer, field="city")
        return customer, change


def test_revert_one_change_puts_the_old_value_back_and_is_logged(world, api_key, edited):
    customer, change = edited
    client = api_client("alpha.localhost", api_key(world.alpha))

    response = post(client, f"/api/v1/changes/{change.pk}/revert/", {"reason": "wrong city"})

    assert response.status_code == 200 and response.json()["city"] == "Rosario"
    with tenant_context(world.alpha):
        revert = CustomerChangeLog.objects.filter(customer=customer, field="city").order_by("-id").first()
        assert (revert.old_value, revert.new_value, revert.source) == ("Wrongtown", "Rosario", "manual")
        assert revert.reason == f"revert of change #{change.pk}: wrong city"
    # reverting it again finds it superseded (the field no longer holds what it wrote)
    again = post(client, f"/api/v1/changes/{change.pk}/revert/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "change_superseded"


def test_revert_needs_write_and_checks_ids(world, api_key, edited):
    _customer, change = edited
    for role in ("alpha_viewer", "alpha_analyst"):
        client = host_client("alpha.localhost", world.user(role))
        assert post(client, f"/api/v1/changes/{change.pk}/revert/").status_code == 403
        assert post(client, "/api/v1/changes/revert-source/", {"source": "vtex",
                                                               "since": "2024-01-01T00:00:00Z"}).status_code == 403
    read_key = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))
    assert post(read_key, f"/api/v1/changes/{change.pk}/revert/").status_code == 403
    writer = api_client("alpha.localhost", api_key(world.alpha))
    assert post(writer, "/api/v1/changes/999999999/revert/").status_code == 404
    assert post(api_client("beta.localhost", api_key(world.beta)), f"/api/v1/changes/{change.pk}/revert/").status_code == 404


def test_empty_never_overwrites_and_a_pseudonymized_customer_is_not_brought_back(world, api_key):
    client = api_client("alpha.localhost", api_key(world.alpha))
    with tenant_context(world.alpha):
        customer = CustomerFactory(city="", email="erase@example.com", first_name="Eve")
        customer_update(customer_id=customer.pk, data={"city": "Salta"}, actor=SYSTEM)
        filled = CustomerChangeLog.objects.get(customer=customer, field="city")
        customer_update(customer_id=customer.pk, data={"first_name": "Evelyn"}, actor=SYSTEM)
        renamed = CustomerChangeLog.objects.get(customer=customer, field="first_name")

    to_empty = post(client, f"/api/v1/changes/{filled.pk}/revert/")
    assert to_empty.status_code == 400 and to_empty.json()["error"]["code"] == "revert_to_empty"
    assert "city" in to_empty.json()["error"]["fields"]

    with tenant_context(world.alpha):
        customer_pseudonymize(customer_id=customer.pk, actor=SYSTEM, reason="erasure request")
    erased = post(client, f"/api/v1/changes/{renamed.pk}/revert/")
    assert erased.status_code == 409 and erased.json()["error"]["code"] == "customer_pseudonymized"
    with tenant_context(world.alpha):
        after = Customer.objects.get(pk=customer.pk)
        assert after.is_pseudonymized and after.first_name != "Eve" and "erase@" not in (after.email or "")


def test_revert_all_changes_of_one_source_after_a_date(world, api_key, ingest):
    # given a trusted feed wrote good names, then a bad vtex import overwrote them
    with tenant_context(world.alpha):
        source_priority_set(source="vtex", priority=50, actor=SYSTEM)
    ingest([order_record(1, source="crm", customer={"first_name": "Lucía", "city": "Córdoba"}),
            order_record(2, source="crm", customer={"first_name": "Pedro"})])
    # The test runs in one transaction, where the database's now() (the change log's time on the
    # set-based ingest path) stands still: the first feed's entries are moved an hour back.
    with tenant_context(world.alpha):
        CustomerChangeLog.objects.update(created_at=F("created_at") - datetime.timedelta(hours=1))
    since = timezone.now() - datetime.timedelta(minutes=30)
    ingest([order_record(3, person=1, customer={"first_name": "LUCIA X", "city": "Cba"}),
            order_record(4, person=2, customer={"first_name": "PEDRO X"})])
    with tenant_context(world.alpha):
        pedro = Customer.objects.get(email="buyer2@example.com")
        # and a person fixed Pedro's name by hand afterwards (that change must survive)
        customer_update(customer_id=pedro.pk, data={"first_name": "Pedro José"}, actor=SYSTEM)
    client = api_client("alpha.localhost", api_key(world.alpha))
    body = {"source": "vtex", "since": since.isoformat()}

    # when previewed, nothing is written
    preview = post(client, "/api/v1/changes/revert-source/", {**body, "dry_run": True}).json()
    with tenant_context(world.alpha):
        assert Customer.objects.get(email="buyer1@example.com").first_name == "LUCIA X"
    # when run
    result = post(client, "/api/v1/changes/revert-source/", body).json()

    # then
    assert (preview["reverted"], result["reverted"]) == (2, 2)
    assert result["skipped"] == 1 and result["skipped_changes"][0]["code"] == "change_superseded"
    with tenant_context(world.alpha):
        lucia = Customer.objects.get(email="buyer1@example.com")
        assert (lucia.first_name, lucia.city) == ("Lucía", "Córdoba")
        assert Customer.objects.get(pk=pedro.pk).first_name == "Pedro José"
        assert CustomerChangeLog.objects.filter(customer=lucia, reason__startswith="revert of source vtex").count() == 2
    assert AuditLog.objects.filter(tenant=world.alpha, action="customer.revert_source", resource_id="vtex").exists()


def test_source_revert_bad_input_is_field_errors(world, api_key):
    client = api_client("alpha.localhost", api_key(world.alpha))
    response = post(client, "/api/v1/changes/revert-source/", {"source": "", "since": "last tuesday"})
    assert response.status_code == 400 and {"source", "since"} <= set(response.json()["error"]["fields"])


def test_admin_action_reverts_through_the_service(world, alpha_client, edited):
    customer, change = edited
    client = alpha_client(world.user("alpha_owner"))
    response = client.post("/admin/customers/customerchangelog/",
                           {"action": "revert_changes", "_selected_action": [change.pk]}, follow=True)
    assert response.status_code == 200
    with tenant_context(world.alpha):
        assert Customer.objects.get(pk=customer.pk).city == "Rosario"
    # a second run reports the refusal on the page, and writes nothing
    again = client.post("/admin/customers/customerchangelog/",
                        {"action": "revert_changes", "_selected_action": [change.pk]}, follow=True)
    assert "changed again since" in again.content.decode()
