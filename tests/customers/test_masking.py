"""Masking by role (issue #21 item 1): viewers and analysts see e-mail, phone and document masked
and the sensitive fields hidden on every path (API, portal, admin, exports); a reader holding
``unmask``/``sensitive`` sees them in full; owners choose per role; analytics keeps real values."""

from __future__ import annotations

import datetime
import json

import pytest
from django_tenants.utils import tenant_context

from analytics.services import segment_create
from cdp.context import Actor
from cdp.exceptions import ApplicationError, PermissionDenied
from customers.masking import (
    FULL,
    MASKED,
    MaskedInstanceError,
    Visibility,
    mask_customer,
    mask_document,
    mask_email,
    mask_phone,
)
from customers.models import Customer
from customers.services import customer_update
from tenants.models import AuditLog, Tenant
from tenants.services.privacy import privacy_grants_get, privacy_grants_set
from tests.conftest import api_client, host_client
from tests.customers.factories import AddressFactory, CustomerFactory, OrderFactory

EMAIL = "ana.silva@dominio.com"
PHONE = "+5511987654725"
DOCUMENT = "12345674725"


@pytest.fixture
def person(world):
    with tenant_context(world.alpha):
        customer = CustomerFactory(email=EMAIL, phone=PHONE, document_type="cpf", document_number=DOCUMENT,
                                   first_name="Ana", last_name="Silva", birth_date=datetime.date(1990, 5, 17),
                                   notes="Prefers calls after 6pm", country="BR")
        AddressFactory(customer=customer, is_default=True, phone="+5511900004725")
        customer_update(customer_id=customer.pk, data={"phone": "+5511912344725"}, actor=Actor.system("tests"),
                        reason="test change")
        return customer


def owner_actor(world) -> Actor:
    owner = world.user("alpha_owner")
    return Actor(label=owner.email, user_id=owner.pk)


def set_grants(world, grants):
    # A fresh instance: the session-wide ``world.alpha`` must not keep this test's settings.
    return privacy_grants_set(tenant=Tenant.objects.get(pk=world.alpha.pk), grants=grants, actor=owner_actor(world))


def assert_masked(row: dict):
    assert row["email"] == "a***@d***.com"
    assert row["phone"] == "***-**-4725"
    # without ``sensitive`` the document, its type, the birth date and the notes are hidden
    assert row["document_number"] is None and row["birth_date"] is None and row["document_type"] == ""
    assert EMAIL not in json.dumps(row) and DOCUMENT not in json.dumps(row)


# --- the masking function ------------------------------------------------------------------------

def test_mask_formats():
    assert mask_email(EMAIL) == "a***@d***.com"
    assert mask_email("x@localhost") == "x***@l***"
    assert mask_email(None) is None and mask_email("") == ""
    assert mask_phone(PHONE) == "***-**-4725"
    assert mask_document("123.456.789-25") == "***-**-8925"
    assert mask_document("123") == "***-**-3"  # short values do not show themselves
    assert mask_document("12") == "***-**-"


def test_a_masked_instance_cannot_be_saved_and_the_database_keeps_real_values(world, person):
    with tenant_context(world.alpha):
        shown = mask_customer(Customer.objects.get(pk=person.pk), MASKED)
        assert shown.email == "a***@d***.com" and shown.notes == "" and shown.birth_date is None
        with pytest.raises(MaskedInstanceError):
            shown.save()
        assert Customer.objects.get(pk=person.pk).email == EMAIL
        assert mask_customer(Customer.objects.get(pk=person.pk), FULL).email == EMAIL


# --- the API -------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["alpha_viewer", "alpha_analyst"])
def test_api_masks_list_search_detail_changes_for_viewers_and_analysts(world, person, role):
    client = host_client("alpha.localhost", world.user(role))

    listing = client.get("/api/v1/customers/").json()["results"]
    search = client.get("/api/v1/customers/", {"email": EMAIL}).json()["results"]
    detail = client.get(f"/api/v1/customers/{person.pk}/").json()
    addresses = client.get(f"/api/v1/customers/{person.pk}/addresses/").json()
    changes = client.get(f"/api/v1/customers/{person.pk}/changes/").json()["results"]

    assert_masked(next(row for row in listing if row["id"] == person.pk))
    assert [row["id"] for row in search] == [person.pk]
    assert_masked(search[0])
    assert_masked(detail["profile"])
    assert detail["profile"]["notes"] == ""
    assert detail["addresses"][0]["phone"] == "***-**-4725" and addresses[0]["phone"] == "***-**-4725"
    phone_change = next(c for c in changes if c["field"] == "phone")
    assert phone_change["new_value"] == "***-**-4725" and phone_change["old_value"] == "***-**-4725"


def test_api_shows_real_values_to_admins_and_to_keys_holding_unmask(world, person, api_key):
    admin = host_client("alpha.localhost", world.user("alpha_admin"))
    full_key = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "unmask", "sensitive"]))
    unmask_only = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "unmask"]))
    read_only = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))

    for client in (admin, full_key):
        profile = client.get(f"/api/v1/customers/{person.pk}/").json()["profile"]
        assert (profile["email"], profile["phone"], profile["document_number"]) == (EMAIL, "+5511912344725", DOCUMENT)
        assert profile["birth_date"] == "1990-05-17" and profile["notes"] == "Prefers calls after 6pm"
    partial = unmask_only.get(f"/api/v1/customers/{person.pk}/").json()["profile"]
    assert partial["email"] == EMAIL and partial["document_number"] is None and partial["notes"] == ""
    assert_masked(read_only.get(f"/api/v1/customers/{person.pk}/").json()["profile"])


def test_order_payload_is_withheld_without_unmask(world, customer):
    with tenant_context(world.alpha):
        order = customer.orders.get()
    viewer = host_client("alpha.localhost", world.user("alpha_viewer"))
    admin = host_client("alpha.localhost", world.user("alpha_admin"))
    assert viewer.get(f"/api/v1/orders/{order.pk}/").json()["raw"] is None
    assert admin.get(f"/api/v1/orders/{order.pk}/").status_code == 200


def test_segment_members_api_is_masked_for_viewers(world, person):
    with tenant_context(world.alpha):
        segment = segment_create(name="Brazil", rules={"op": "and", "rules": [
            {"field": "country", "operator": "eq", "value": "BR"}]}, actor=Actor.system("tests"), tenant=world.alpha)
    viewer = host_client("alpha.localhost", world.user("alpha_viewer"))
    owner = host_client("alpha.localhost", world.user("alpha_owner"))

    masked = viewer.get(f"/api/v1/analytics/segments/{segment.pk}/members/").json()["results"]
    real = owner.get(f"/api/v1/analytics/segments/{segment.pk}/members/").json()["results"]

    assert "a***@d***.com" in [row["email"] for row in masked] and EMAIL not in json.dumps(masked)
    assert EMAIL in [row["email"] for row in real]


# --- the portal ----------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["alpha_viewer", "alpha_analyst"])
def test_portal_list_detail_changes_are_masked(world, alpha_client, person, role):
    client = alpha_client(world.user(role))
    pages = [client.get("/customers/"), client.get("/customers/", {"email": EMAIL}),
             client.get(f"/customers/{person.pk}/"), client.get(f"/customers/{person.pk}/changes/")]
    for page in pages:
        # the search form echoes what the reader typed: only the results must not show it
        html = page.content.decode().replace(f'value="{EMAIL}"', "")
        assert page.status_code == 200
        assert EMAIL not in html and DOCUMENT not in html and "+5511912344725" not in html
        assert "Prefers calls" not in html
    assert "a***@d***.com" in pages[0].content.decode() and "***-**-4725" in pages[2].content.decode()


def test_portal_shows_real_values_to_admins(world, alpha_client, person):
    html = alpha_client(world.user("alpha_admin")).get(f"/customers/{person.pk}/").content.decode()
    assert EMAIL in html and DOCUMENT in html


# --- owners choose per role ----------------------------------------------------------------------

def test_owner_grants_unmask_to_analysts_and_takes_it_from_admins(world, person):
    # given the default: admins see everything, analysts nothing
    assert privacy_grants_get(tenant=world.alpha) == {"admin": ["sensitive", "unmask"], "analyst": [], "viewer": []}
    # when the owner chooses
    set_grants(world, {"admin": ["sensitive"], "analyst": ["unmask"], "viewer": []})
    # then
    analyst = host_client("alpha.localhost", world.user("alpha_analyst"))
    admin = host_client("alpha.localhost", world.user("alpha_admin"))
    viewer = host_client("alpha.localhost", world.user("alpha_viewer"))
    assert analyst.get(f"/api/v1/customers/{person.pk}/").json()["profile"]["email"] == EMAIL
    assert admin.get(f"/api/v1/customers/{person.pk}/").json()["profile"]["email"] == "a***@d***.com"
    assert viewer.get(f"/api/v1/customers/{person.pk}/").json()["profile"]["email"] == "a***@d***.com"
    assert AuditLog.objects.filter(tenant=world.alpha, action="tenant.privacy_grants").exists()


def test_only_owners_choose_and_bad_grants_are_field_errors(world, api_key):
    admin = host_client("alpha.localhost", world.user("alpha_admin"))
    owner = host_client("alpha.localhost", world.user("alpha_owner"))
    viewer = host_client("alpha.localhost", world.user("alpha_viewer"))
    members_key = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "members"]))
    body = json.dumps({"grants": {"viewer": ["unmask"]}})

    assert admin.put("/api/v1/privacy/grants/", body, content_type="application/json").status_code == 403
    assert members_key.put("/api/v1/privacy/grants/", body, content_type="application/json").status_code == 403
    assert viewer.get("/api/v1/privacy/grants/").status_code == 403
    bad = owner.put("/api/v1/privacy/grants/", json.dumps({"grants": {"viewer": ["billing"], "owner": []}}),
                    content_type="application/json")
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"grants", "viewer"}
    ok = owner.put("/api/v1/privacy/grants/", body, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["grants"]["viewer"] == ["unmask"]
    assert ok.json()["grants"]["admin"] == ["sensitive", "unmask"]  # unnamed roles keep the default
    with pytest.raises(PermissionDenied):
        privacy_grants_set(tenant=Tenant.objects.get(pk=world.alpha.pk), grants={},
                           actor=Actor(label="admin", user_id=world.user("alpha_admin").pk))
    with pytest.raises(ApplicationError):
        set_grants(world, "everything")


def test_a_key_cannot_be_issued_unmask_by_someone_without_it(world):
    from tenants.services import api_key_create

    set_grants(world, {"admin": []})
    admin = world.user("alpha_admin")
    with pytest.raises(ApplicationError) as refused:
        api_key_create(tenant=Tenant.objects.get(pk=world.alpha.pk), name="k", scopes=["read", "unmask"],
                       actor=Actor(label=admin.email, user_id=admin.pk))
    assert "scopes" in refused.value.fields


# --- the tenant admin and the exports ------------------------------------------------------------

def test_admin_masks_for_an_admin_without_unmask_and_not_for_the_owner(world, alpha_client, person):
    set_grants(world, {"admin": []})
    admin = alpha_client(world.user("alpha_admin"))
    owner = alpha_client(world.user("alpha_owner"))

    for url in ["/admin/customers/customer/", f"/admin/customers/customer/{person.pk}/change/",
                "/admin/customers/customerchangelog/"]:
        masked, real = admin.get(url), owner.get(url)
        assert masked.status_code == 200 and real.status_code == 200, url
        assert EMAIL not in masked.content.decode() and DOCUMENT not in masked.content.decode(), url
        assert "+5511912344725" not in masked.content.decode(), url
        assert EMAIL in real.content.decode() or "customerchangelog" in url, url
    assert "a***@d***.com" in admin.get("/admin/customers/customer/").content.decode()


def test_admin_edit_by_a_masked_admin_keeps_the_real_values(world, alpha_client, person):
    set_grants(world, {"admin": []})
    client = alpha_client(world.user("alpha_admin"))
    page = client.get(f"/admin/customers/customer/{person.pk}/change/")
    form = page.context["adminform"].form
    assert "email" not in form.fields and "notes" not in form.fields  # read-only for them
    data = {name: form.initial.get(name) or "" for name in form.fields}
    data.update({"first_name": "Renamed", "tags": "", "metadata": "{}", "customer_type": "b2c", "status": "active"})
    for prefix in ("identities", "addresses", "orders"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    response = client.post(f"/admin/customers/customer/{person.pk}/change/", data)
    assert response.status_code == 302
    with tenant_context(world.alpha):
        saved = Customer.objects.get(pk=person.pk)
    assert (saved.first_name, saved.email, saved.document_number, saved.notes) == (
        "Renamed", EMAIL, DOCUMENT, "Prefers calls after 6pm")


def test_segment_csv_export_is_masked_without_unmask(world, alpha_client, person):
    with tenant_context(world.alpha):
        segment = segment_create(name="Brazil", rules={"op": "and", "rules": [
            {"field": "country", "operator": "eq", "value": "BR"}]}, actor=Actor.system("tests"), tenant=world.alpha)
    set_grants(world, {"admin": []})
    admin = host_client("alpha.localhost", world.user("alpha_admin"))
    owner = host_client("alpha.localhost", world.user("alpha_owner"))
    viewer = host_client("alpha.localhost", world.user("alpha_viewer"))

    def csv(client, url):
        response = client.get(url)
        return response.status_code, b"".join(response.streaming_content).decode() if response.status_code == 200 else ""

    for url in [f"/api/v1/analytics/segments/{segment.pk}/export.csv", f"/analytics/segments/{segment.pk}/export.csv"]:
        status, masked = csv(admin, url)
        assert status == 200 and "a***@d***.com" in masked and EMAIL not in masked
        status, real = csv(owner, url)
        assert status == 200 and EMAIL in real  # analytics and the owner's export keep the real values
        assert csv(viewer, url)[0] == 403


def test_visibility_of_capabilities():
    assert Visibility.of(["read"]).is_full is False
    assert Visibility.of(["unmask", "sensitive"]).is_full is True


def test_order_admin_and_merge_page_are_masked_for_an_admin_without_unmask(world, alpha_client, person):
    with tenant_context(world.alpha):
        order = OrderFactory(customer=person, raw={"buyer": {"email": EMAIL}}, shipping_address={"phone": PHONE})
        other = CustomerFactory(email="other.person@example.com")
    set_grants(world, {"admin": []})
    admin = alpha_client(world.user("alpha_admin"))
    owner = alpha_client(world.user("alpha_owner"))

    for url in ["/admin/customers/order/", f"/admin/customers/order/{order.pk}/change/"]:
        masked = admin.get(url)
        assert masked.status_code == 200, url
        assert EMAIL not in masked.content.decode() and PHONE not in masked.content.decode(), url
    assert EMAIL in owner.get(f"/admin/customers/order/{order.pk}/change/").content.decode()
    merge = admin.post("/admin/customers/customer/", {"action": "merge_customers_into",
                                                      "_selected_action": [person.pk, other.pk]})
    assert merge.status_code == 200
    assert EMAIL not in merge.content.decode() and "other.person@example.com" not in merge.content.decode()
