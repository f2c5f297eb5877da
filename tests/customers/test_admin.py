"""The customers app in the tenant's admin, through the client a person uses: pages, writes through
the services (errors on the form), actions."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from customers.models import Customer, Order


def test_admin_pages_render_for_a_tenant_owner(world, alpha_client, customer):
    client = alpha_client(world.user("alpha_owner"))
    for url in ["/admin/customers/customer/", "/admin/customers/customer/add/",
                f"/admin/customers/customer/{customer.pk}/change/", "/admin/customers/order/",
                "/admin/customers/customerchangelog/", "/admin/customers/sourcepriority/",
                "/admin/customers/sourcepriority/add/", "/admin/customers/product/",
                "/admin/customers/customer/?q=30111222", f"/admin/customers/customer/?q={customer.email}"]:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    with tenant_context(world.alpha):
        order = Order.objects.get(customer=customer)
    assert client.get(f"/admin/customers/order/{order.pk}/change/").status_code == 200


def test_admin_edit_goes_through_the_service_and_is_logged(world, alpha_client, customer):
    client = alpha_client(world.user("alpha_owner"))
    page = client.get(f"/admin/customers/customer/{customer.pk}/change/")
    form = page.context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in form.fields}
    data.update({"first_name": "Renamed", "tags": "", "metadata": "{}", "customer_type": "b2c", "status": "active"})
    for prefix in ("identities", "addresses", "orders", "change_logs"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    response = client.post(f"/admin/customers/customer/{customer.pk}/change/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    with tenant_context(world.alpha):
        refreshed = Customer.objects.get(pk=customer.pk)
        assert refreshed.first_name == "Renamed"
        assert refreshed.change_logs.filter(field="first_name", source="manual").exists()


def test_admin_add_refused_by_the_service_keeps_the_input(world, alpha_client, customer):
    client = alpha_client(world.user("alpha_owner"))
    data = {"email": customer.email.upper(), "first_name": "Typed Name", "customer_type": "b2c", "status": "active",
            "tags": "", "metadata": "{}", "notes": ""}

    # when the service refuses (the email belongs to another customer)
    answer = client.post("/admin/customers/customer/add/", data)

    # then the same page comes back with the error on the field and what was typed kept
    assert answer.status_code == 200
    assert answer.context["adminform"].form.errors["email"] == ["Already taken."]
    assert 'value="Typed Name"' in answer.content.decode()

    # and once corrected it saves through the service
    saved = client.post("/admin/customers/customer/add/", {**data, "email": "typed@example.com"})
    assert saved.status_code == 302
    with tenant_context(world.alpha):
        created = Customer.objects.get(email="typed@example.com")
        assert created.first_name == "Typed Name" and created.source == "manual"


def test_admin_is_closed_to_viewers(world, alpha_client):
    assert alpha_client(world.user("alpha_viewer")).get("/admin/customers/customer/").status_code in (302, 403)
