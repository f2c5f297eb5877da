"""Field-level permissions (issue #21 item 2): document, birth date and notes are read and changed
only by holders of ``sensitive``; a refused change is a 400 with field errors and writes nothing."""

from __future__ import annotations

import datetime
import json

import pytest
from django_tenants.utils import tenant_context

from cdp.context import Actor
from cdp.exceptions import ApplicationError
from customers.models import Customer, CustomerChangeLog
from customers.services import customer_update
from customers.services.profile import customer_create
from tenants.models import Tenant
from tenants.services.privacy import privacy_grants_set
from tests.conftest import api_client, host_client
from tests.customers.factories import CustomerFactory


@pytest.fixture
def person(world):
    with tenant_context(world.alpha):
        return CustomerFactory(document_type="dni", document_number="30111222", birth_date=datetime.date(1990, 1, 2),
                               notes="VIP", first_name="Ana")


def patch(client, url, body):
    return client.patch(url, data=json.dumps(body), content_type="application/json")


def member(world, name) -> Actor:
    user = world.user(name)
    return Actor(label=user.email, user_id=user.pk)


def take_sensitive_from_admins(world):
    privacy_grants_set(tenant=Tenant.objects.get(pk=world.alpha.pk), grants={"admin": ["unmask"]},
                       actor=member(world, "alpha_owner"))


def test_a_key_without_sensitive_gets_field_errors_and_nothing_is_written(world, api_key, person):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write", "unmask"]))

    response = patch(client, f"/api/v1/customers/{person.pk}/",
                     {"first_name": "Changed", "notes": "", "birth_date": None, "document_number": "30111223"})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "field_forbidden"
    assert set(error["fields"]) == {"notes", "birth_date", "document_number"}
    with tenant_context(world.alpha):
        saved = Customer.objects.get(pk=person.pk)
        assert (saved.first_name, saved.notes, saved.document_number) == ("Ana", "VIP", "30111222")
        assert not CustomerChangeLog.objects.filter(customer=saved).exists()


def test_a_key_with_sensitive_changes_them(world, api_key, person):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write", "sensitive"]))
    response = patch(client, f"/api/v1/customers/{person.pk}/", {"notes": "Prefers WhatsApp"})
    assert response.status_code == 200
    assert response.json()["notes"] == "Prefers WhatsApp"


def test_other_fields_stay_editable_without_sensitive(world, api_key, person):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write"]))
    response = patch(client, f"/api/v1/customers/{person.pk}/", {"first_name": "Anita"})
    assert response.status_code == 200 and response.json()["first_name"] == "Anita"
    assert response.json()["notes"] == "" and response.json()["document_number"] is None  # still hidden


def test_owner_takes_sensitive_from_admins_and_the_admin_is_refused(world, person):
    take_sensitive_from_admins(world)
    admin = host_client("alpha.localhost", world.user("alpha_admin"))
    owner = host_client("alpha.localhost", world.user("alpha_owner"))
    viewer = host_client("alpha.localhost", world.user("alpha_viewer"))

    refused = patch(admin, f"/api/v1/customers/{person.pk}/", {"birth_date": "1991-01-01"})
    assert refused.status_code == 400 and set(refused.json()["error"]["fields"]) == {"birth_date"}
    assert admin.get(f"/api/v1/customers/{person.pk}/").json()["profile"]["birth_date"] is None
    assert patch(viewer, f"/api/v1/customers/{person.pk}/", {"notes": "x"}).status_code == 403
    done = patch(owner, f"/api/v1/customers/{person.pk}/", {"birth_date": "1991-01-01"})
    assert done.status_code == 200 and done.json()["birth_date"] == "1991-01-01"


def test_the_service_checks_the_actor_itself(world, person):
    take_sensitive_from_admins(world)
    with tenant_context(world.alpha):
        with pytest.raises(ApplicationError) as refused:
            customer_update(customer_id=person.pk, data={"notes": "x"}, actor=member(world, "alpha_admin"))
        assert set(refused.value.fields) == {"notes"}
        with pytest.raises(ApplicationError):
            customer_create(data={"first_name": "New", "birth_date": "2000-01-01"}, actor=member(world, "alpha_admin"))
        # an unchanged value is no change, and the system (ingest, commands) holds everything
        customer_update(customer_id=person.pk, data={"notes": "VIP"}, actor=member(world, "alpha_admin"))
        customer_update(customer_id=person.pk, data={"notes": "by a command"}, actor=Actor.system("tests"))
        assert Customer.objects.get(pk=person.pk).notes == "by a command"
