"""Erasure is final (review C7, S5): re-importing an erased person's order, on the bulk path as on
the record path, updates the order but brings back none of their data (order payload, shipping
address, a new profile, an identity); and no address can be added to or changed on an erased
customer, through the API, the services or the admin."""

from __future__ import annotations

import csv
import json

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from cdp.context import Actor
from cdp.exceptions import Conflict
from customers.models import Address, Customer, CustomerIdentity, Order
from tests.conftest import api_client
from tests.security.conftest import admin_customer_form, post_json
from tests.security.test_erasure import tenant_hits

HEADER = ["source", "external_order_id", "order_date", "status", "currency", "total_amount", "customer_email",
          "customer_external_id", "customer_first_name", "customer_last_name", "customer_phone",
          "customer_document_type", "customer_document_number", "customer_country", "customer_address_line1",
          "customer_address_number", "customer_address_city", "customer_address_postal_code"]
PEDRO = ["pedro.privado@example.net", "shop-cust-444", "Pedro", "Escondido", "011 4444-9876", "dni", "27.444.555",
         "AR", "Avenida Oculta", "777", "Cordoba", "X5000ABC"]
PEDRO_VALUES = ["pedro.privado", "Escondido", "Pedro", "4444-9876", "27444555", "27.444.555", "Avenida Oculta",
                "X5000ABC", "shop-cust-444"]


def write_csv(path, status: str):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerow(["shop", "ord-777", "2024-04-01T10:00:00-03:00", status, "ARS", "900", *PEDRO])
    return path


def import_csv(path, mode: str):
    call_command("import_orders", str(path), "--tenant", "alpha", "--no-progress", "--mode", mode)


@pytest.fixture
def alpha_api(world, api_key):
    return api_client("alpha.localhost", api_key(world.alpha))


@pytest.fixture
def erased_pedro(world, tmp_path, alpha_api):
    import_csv(write_csv(tmp_path / "orders1.csv", "completed"), "records")
    with tenant_context(world.alpha):
        pedro = Customer.objects.get(email="pedro.privado@example.net")
    assert post_json(alpha_api, f"/api/v1/customers/{pedro.pk}/pseudonymize/").status_code == 200
    with tenant_context(world.alpha):
        # what erasure left (nothing, tests/security/test_erasure.py says; here only "no more after")
        return pedro.pk, Customer.objects.count(), tenant_hits(world.alpha, PEDRO_VALUES)


@pytest.mark.parametrize("mode", ["bulk", "records"])
def test_reimporting_an_erased_persons_order_brings_nothing_back(world, tmp_path, erased_pedro, mode, capsys):
    pedro_id, customers_before, residue = erased_pedro

    # when the same order comes again (now refunded), on the bulk path or the record path
    import_csv(write_csv(tmp_path / "orders2.csv", "refunded"), mode)

    # then the order is updated ...
    assert "1 updated" in capsys.readouterr().out
    with tenant_context(world.alpha):
        order = Order.objects.get(source="shop", external_order_id="ord-777")
        assert order.status == "refunded" and order.customer_id == pedro_id
        # ... but its payload and address stay scrubbed, nobody new has Pedro's data, the erased
        # profile gets no identity back, and no value of Pedro's is anywhere in the schema
        assert set(order.shipping_address or {}) <= {"country", "state", "type"}
        assert not any(value.lower() in json.dumps(order.raw, ensure_ascii=False).lower() for value in PEDRO_VALUES)
        assert Customer.objects.count() == customers_before
        assert not CustomerIdentity.objects.filter(external_id="shop-cust-444").exists()
        pedro = Customer.objects.get(pk=pedro_id)
        assert pedro.is_pseudonymized and pedro.email is None and pedro.first_name == ""
        assert not Address.objects.filter(customer_id=pedro_id).exclude(line1="").exists()
        assert tenant_hits(world.alpha, PEDRO_VALUES) <= residue


def test_api_refuses_to_add_or_change_an_address_of_an_erased_customer(world, alpha_api, erased_pedro):
    pedro_id = erased_pedro[0]
    with tenant_context(world.alpha):
        address_id = Address.objects.filter(customer_id=pedro_id).values_list("pk", flat=True).first()
    assert address_id is not None  # the order's address, kept empty

    created = post_json(alpha_api, f"/api/v1/customers/{pedro_id}/addresses/",
                        {"line1": "Nueva Calle 1", "city": "Rosario", "country": "AR"})
    changed = post_json(alpha_api, f"/api/v1/customers/{pedro_id}/addresses/{address_id}/", {"line1": "Otra 2"},
                        method="patch")

    for response in (created, changed):
        assert response.status_code == 409, response.content
        error = response.json()["error"]
        assert error["code"] == "customer_pseudonymized" and "pseudonymized" in error["message"]
        assert error["fields"]
    with tenant_context(world.alpha):
        assert not Address.objects.filter(customer_id=pedro_id).exclude(line1="").exists()


def test_services_refuse_addresses_on_an_erased_customer(world, erased_pedro):
    from customers.services import address_create, address_update

    pedro_id = erased_pedro[0]
    with tenant_context(world.alpha):
        address_id = Address.objects.filter(customer_id=pedro_id).values_list("pk", flat=True).first()
        with pytest.raises(Conflict) as refused:
            address_create(customer_id=pedro_id, data={"line1": "X 1"}, actor=Actor.system("tests"),
                           source="vtex")
        assert refused.value.code == "customer_pseudonymized"
        with pytest.raises(Conflict):
            address_update(customer_id=pedro_id, address_id=address_id, data={"line1": "X 1"},
                           actor=Actor.system("tests"))


def test_admin_shows_a_clear_error_when_editing_an_erased_customer(world, alpha_client, erased_pedro):
    pedro_id = erased_pedro[0]
    client = alpha_client(world.user("alpha_owner"))

    response = client.post(f"/admin/customers/customer/{pedro_id}/change/",
                           admin_customer_form(client, pedro_id, first_name="Pedro", city="Cordoba"))

    assert response.status_code == 200  # the form again, not a redirect and not a 500
    errors = " ".join(response.context["adminform"].form.non_field_errors())
    assert "pseudonymized" in errors
    with tenant_context(world.alpha):
        assert Customer.objects.get(pk=pedro_id).first_name == ""
    # and the admin offers no way to add an address (addresses are read-only there)
    from customers.admin.profile import AddressInline
    from tenants.admin_site import tenant_admin_site

    inline = AddressInline(Customer, tenant_admin_site)
    assert not inline.has_add_permission(None) and not inline.has_change_permission(None)
