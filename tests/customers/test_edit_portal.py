"""Editing a customer in the portal: writers only, only what changed goes to the service (change
log, audit), refusals land on their fields, masked values are never editable."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from customers.models import Customer, CustomerChangeLog
from tenants.models import AuditLog
from tests.customers.factories import CustomerFactory


def _customer(world):
    with tenant_context(world.alpha):
        return CustomerFactory(first_name="Lucia", last_name="Diaz", city="Rosario", country="AR",
                               email="lucia.diaz@example.com")


def _form(customer, **changes):
    data = {"first_name": customer.first_name, "last_name": customer.last_name, "email": customer.email,
            "phone": customer.phone, "city": customer.city, "state": customer.state, "country": customer.country,
            "customer_type": customer.customer_type, "document_type": customer.document_type or "",
            "document_number": customer.document_number or "", "birth_date": ""}
    return {**data, **changes}


def test_an_admin_edits_a_profile_and_only_the_change_is_recorded(world, alpha_client):
    customer = _customer(world)
    admin = alpha_client(world.user("alpha_admin"))
    assert 'href="/customers/%s/edit/"' % customer.pk in admin.get(f"/customers/{customer.pk}/").content.decode()
    saved = admin.post(f"/customers/{customer.pk}/edit/", _form(customer, first_name="Lucía", last_name="Díaz"))
    assert saved.status_code == 302 and saved["Location"] == f"/customers/{customer.pk}/"
    with tenant_context(world.alpha):
        customer.refresh_from_db()
        assert (customer.first_name, customer.last_name, customer.city) == ("Lucía", "Díaz", "Rosario")
        assert set(CustomerChangeLog.objects.filter(customer=customer).values_list("field", flat=True)) == {
            "first_name", "last_name"}
    audit = AuditLog.objects.filter(action="customer.update", resource_id=str(customer.pk)).get()
    assert set(audit.changes) == {"first_name", "last_name"}


def test_a_refused_value_is_an_error_on_its_field(world, alpha_client):
    customer = _customer(world)
    page = alpha_client(world.user("alpha_admin")).post(f"/customers/{customer.pk}/edit/",
                                                        _form(customer, email="not an email"))
    assert page.status_code == 400 and "Enter a valid email address." in page.content.decode()
    with tenant_context(world.alpha):
        assert Customer.objects.get(pk=customer.pk).email == "lucia.diaz@example.com"


def test_editing_needs_the_write_capability(world, alpha_client):
    customer = _customer(world)
    for role in ("alpha_analyst", "alpha_viewer"):
        client = alpha_client(world.user(role))
        assert client.get(f"/customers/{customer.pk}/edit/").status_code == 403
        assert client.post(f"/customers/{customer.pk}/edit/", _form(customer, city="X")).status_code == 403
        assert "/edit/" not in client.get(f"/customers/{customer.pk}/").content.decode()
    assert alpha_client(world.user("alpha_admin")).get("/customers/999999999/edit/").status_code == 404
