"""No silent data loss: a value a normalizer cannot read is refused with a field error in every
interface, never stored as empty (review: "not a phone" saved as "" with "changed successfully").

Table-driven: every normalized field with an unreadable value, through every interface that
writes it: the API (400 with ``fields``), the tenant admin (a form error), the ingest API (the
record rejected with the field's reason) and the CSV import on both paths (the row rejected with
its reason). The portal has no form that edits customers or addresses (read-only pages), so
there is nothing to refuse there. Data pulled from stores is the one lenient door: an unreadable
phone is left out (the order is kept) and never wipes the stored one."""

from __future__ import annotations

import csv
import datetime
import json

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from customers.models import Customer, Order
from tests.conftest import api_client
from tests.customers.factories import CustomerFactory
from tests.integrations import fakes
from tests.integrations.conftest import days_ago, make_vtex_integration
from tests.security.conftest import admin_customer_form, post_json

STORED = {"email": "stored.person@example.com", "phone": "+541155550123", "gender": "female", "country": "AR",
          "document_type": "dni", "document_number": "30111222", "birth_date": datetime.date(1990, 1, 2),
          "first_name": "Stored", "last_name": "Person", "city": "Rosario"}

#: (field, unreadable value). Each must be refused everywhere, and the stored value kept.
CASES = [
    ("phone", "not a phone"),
    ("phone", "12"),
    ("phone", "+12345678901234567"),
    ("phone", "011 5555 0123 ext 4"),
    ("document_number", "abc-def"),
    ("gender", "banana"),
    ("country", "Narnia"),
    ("birth_date", "1850-01-01"),
    ("birth_date", "2999-01-01"),
    ("birth_date", "31/02/1990"),
    ("email", "not-an-email"),
    ("first_name", "x" * 151),
    ("last_name", "y" * 151),
    ("city", "z" * 151),
]
INTERFACES = ["api", "admin", "api_ingest", "import_records", "import_bulk"]


@pytest.fixture
def alpha_api(world, api_key):
    return api_client("alpha.localhost", api_key(world.alpha))


@pytest.fixture
def stored(world):
    with tenant_context(world.alpha):
        return CustomerFactory(**STORED)


def _record(field: str, value: str, n: str = "1") -> dict:
    customer = {"email": STORED["email"], field: value}
    if field == "document_number":
        customer["document_type"] = "dni"
    return {"source": "shop", "external_order_id": f"bad-{n}", "order_date": "2024-05-01T10:00:00-03:00",
            "total_amount": "10", "customer": customer}


def _import(tmp_path, mode: str, columns: dict) -> str:
    """Import one CSV row of ``columns``; returns the reasons written for the rejected row."""
    path = tmp_path / f"{mode}.csv"
    header = ["external_order_id", "order_date", "total_amount", *columns]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerow(["bad-1", "2024-05-01T10:00:00-03:00", "10", *columns.values()])
    call_command("import_orders", str(path), "--tenant", "alpha", "--no-progress", "--mode", mode)
    rejected = tmp_path / f"{mode}.rejected.csv"
    assert rejected.exists(), "the row was not rejected"
    with open(rejected, newline="", encoding="utf-8") as handle:
        return " ".join(row["errors"] for row in csv.DictReader(handle))


def refused(interface: str, field: str, value: str, *, world, stored, alpha_api, alpha_client, tmp_path) -> str:
    """Send ``field=value`` through ``interface``; assert it was refused; return the message."""
    if interface == "api":
        body = {field: value, **({"document_type": "dni"} if field == "document_number" else {})}
        response = post_json(alpha_api, f"/api/v1/customers/{stored.pk}/", body, method="patch")
        assert response.status_code == 400, (response.status_code, response.content)
        fields = response.json()["error"]["fields"]
        assert field in fields, fields
        return " ".join(map(str, fields[field]))
    if interface == "admin":
        client = alpha_client(world.user("alpha_owner"))
        response = client.post(f"/admin/customers/customer/{stored.pk}/change/",
                               admin_customer_form(client, stored.pk, **{field: value}))
        assert response.status_code == 200, "saved: the admin said 'changed successfully'"
        errors = response.context["adminform"].form.errors
        assert field in errors, errors
        return " ".join(errors[field])
    if interface == "api_ingest":
        body = post_json(alpha_api, "/api/v1/orders/ingest/", {"orders": [_record(field, value)]}).json()
        result = body["results"][0]
        assert result["status"] == "rejected", body
        assert f"customer.{field}" in result["errors"], result["errors"]
        return " ".join(result["errors"][f"customer.{field}"])
    mode = interface.removeprefix("import_")
    columns = {"customer_email": STORED["email"], f"customer_{field}": value}
    if field == "document_number":
        columns["customer_document_type"] = "dni"
    reasons = _import(tmp_path, mode, columns)
    assert f"customer.{field}" in reasons, reasons
    return reasons


@pytest.mark.parametrize("interface", INTERFACES)
@pytest.mark.parametrize("field, value", CASES, ids=lambda v: str(v)[:20])
def test_an_unreadable_value_is_refused_with_a_field_error_and_nothing_is_blanked(
        world, stored, alpha_api, alpha_client, tmp_path, interface, field, value):
    # when
    message = refused(interface, field, value, world=world, stored=stored, alpha_api=alpha_api,
                      alpha_client=alpha_client, tmp_path=tmp_path)

    # then the reason is readable and the stored profile is exactly as it was
    assert message.strip()
    with tenant_context(world.alpha):
        customer = Customer.objects.get(pk=stored.pk)
        assert {key: getattr(customer, key) for key in STORED} == STORED
        assert not customer.change_logs.exists()
        assert not Order.objects.filter(external_order_id="bad-1").exists()


ADDRESS_CASES = [("phone", "not a phone"), ("phone", "12"), ("postal_code", "X" * 25), ("number", "9" * 25)]


@pytest.mark.parametrize("interface", ["api", "api_ingest", "import_records", "import_bulk"])
@pytest.mark.parametrize("field, value", ADDRESS_CASES, ids=lambda v: str(v)[:20])
def test_an_unreadable_address_value_is_refused(world, stored, alpha_api, tmp_path, interface, field, value):
    if interface == "api":
        response = post_json(alpha_api, f"/api/v1/customers/{stored.pk}/addresses/",
                             {"line1": "Calle 1", "country": "AR", field: value})
        assert response.status_code == 400, response.content
        assert field in response.json()["error"]["fields"]
    elif interface == "api_ingest":
        record = _record("city", "Rosario")
        record["customer"]["address"] = {"line1": "Calle 1", "country": "AR", field: value}
        result = post_json(alpha_api, "/api/v1/orders/ingest/", {"orders": [record]}).json()["results"][0]
        assert result["status"] == "rejected" and f"customer.address.{field}" in result["errors"], result
    else:
        reasons = _import(tmp_path, interface.removeprefix("import_"), {
            "customer_email": STORED["email"], "customer_address_line1": "Calle 1",
            f"customer_address_{field}": value})
        assert f"customer.address.{field}" in reasons, reasons
    with tenant_context(world.alpha):
        assert not stored.addresses.exists()


def test_clearing_a_field_on_purpose_still_works(world, stored, alpha_api):
    response = post_json(alpha_api, f"/api/v1/customers/{stored.pk}/", {"phone": "", "gender": ""}, method="patch")

    assert response.status_code == 200, response.content
    with tenant_context(world.alpha):
        customer = Customer.objects.get(pk=stored.pk)
        assert (customer.phone, customer.gender) == ("", "")


def test_a_valid_value_is_normalized_not_refused(world, stored, alpha_api):
    response = post_json(alpha_api, f"/api/v1/customers/{stored.pk}/",
                         {"phone": "011 4444-5555", "gender": "Femenino", "document_number": "30.999.888"},
                         method="patch")

    assert response.status_code == 200, response.content
    assert (response.json()["phone"], response.json()["gender"], response.json()["document_number"]) == (
        "+541144445555", "female", "30999888")


def test_a_stores_unreadable_phone_keeps_the_order_and_never_wipes_the_stored_phone(world, stored, settings):
    """Stores are lenient: the tenant cannot fix VTEX's data, and rejecting would lose the sale."""
    from integrations.services import integration_sync

    settings.INTEGRATIONS_HTTP_MAX_RETRIES = 1
    vtex = fakes.FakeVtex().start()
    try:
        detail = fakes.vtex_detail(1, created=days_ago(2), masked=False, email=STORED["email"])
        detail["clientProfileData"].update(phone="sin teléfono", documentType="dni", document=STORED["document_number"])
        vtex.add(detail)
        with tenant_context(world.alpha):
            from cdp.context import Actor

            log = integration_sync(integration_id=make_vtex_integration(vtex, Actor.system("tests")).pk)
            assert log.records_created == 1 and log.records_rejected == 0, (log.rejections, log.error)
            customer = Customer.objects.get(pk=stored.pk)
            assert customer.phone == STORED["phone"]
            assert Order.objects.filter(source="vtex", customer=customer).exists()
    finally:
        vtex.stop()


def test_a_stores_phone_that_is_readable_is_still_taken(world, stored):
    """Lenient is not careless: a readable value from a store follows the usual conflict rule."""
    from cdp.context import Actor
    from customers.services import order_ingest

    record = _record("phone", "+55 11 98888-7777")
    with tenant_context(world.alpha):
        Customer.objects.filter(pk=stored.pk).update(phone="")
        result = order_ingest(records=[record], actor=Actor.system("tests"), tenant=world.alpha,
                              default_source="shop", lenient_profile=True)
        assert result.results[0].status == "created"
        assert Customer.objects.get(pk=stored.pk).phone == "+5511988887777"
    assert json.dumps(result.as_dict())
