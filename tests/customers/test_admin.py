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


def test_source_priorities_are_ranked_through_the_service_and_a_refusal_stays_on_the_form(world, alpha_client):
    from customers.models import SourcePriority
    from tenants.models import AuditLog

    client = alpha_client(world.user("alpha_owner"))
    refused = client.post("/admin/customers/sourcepriority/add/", {"source": "manual", "priority": "5",
                                                                   "description": ""})
    assert refused.status_code == 200  # the form again, not a 500
    assert refused.context["adminform"].form.errors["source"] == ["'manual' always ranks highest."]

    saved = client.post("/admin/customers/sourcepriority/add/", {"source": "VTEX", "priority": "7",
                                                                 "description": "the store"})
    assert saved.status_code == 302
    with tenant_context(world.alpha):
        row = SourcePriority.objects.get(source="vtex")
        assert row.priority == 7
        assert AuditLog.objects.filter(action="source_priority.set", resource_id=str(row.pk)).exists()
    deleted = client.post(f"/admin/customers/sourcepriority/{row.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    with tenant_context(world.alpha):
        assert not SourcePriority.objects.filter(source="vtex").exists()
        assert AuditLog.objects.filter(action="source_priority.delete", resource_id="vtex").exists()


def test_products_are_written_through_the_service_and_audited(world, alpha_client):
    from customers.models import Product
    from tenants.models import AuditLog

    client = alpha_client(world.user("alpha_owner"))
    data = {"sku": "MATE-1", "name": "Mate", "category": "", "brand": "", "price": "10.50", "currency": "ars",
            "is_active": "on", "metadata": "{}"}
    created = client.post("/admin/customers/product/add/", data)
    assert created.status_code == 302, created.content[:500]
    with tenant_context(world.alpha):
        product = Product.objects.get(sku="MATE-1")
        assert product.currency == "ARS"
    changed = client.post(f"/admin/customers/product/{product.pk}/change/", {**data, "name": "Mate cocido"})
    assert changed.status_code == 302
    with tenant_context(world.alpha):
        assert AuditLog.objects.get(action="product.update", resource_id=str(product.pk)).changes == {
            "name": ["Mate", "Mate cocido"]}
        assert AuditLog.objects.filter(action="product.create", resource_id=str(product.pk)).exists()


def test_merge_into_takes_its_survivor_among_the_selected_customers_only(world, alpha_client):
    from customers.models import CustomerMerge
    from tests.customers.factories import CustomerFactory

    client = alpha_client(world.user("alpha_admin"))
    with tenant_context(world.alpha):
        a, b, outsider = CustomerFactory(), CustomerFactory(), CustomerFactory()

    for survivor in (outsider.pk, "abc", "9" * 25):
        answer = client.post("/admin/customers/customer/", {
            "action": "merge_customers_into", "confirm": "yes", "survivor": survivor,
            "_selected_action": [a.pk, b.pk]}, follow=True)
        assert answer.status_code == 200
        assert "Choose the surviving customer among the selected ones." in answer.content.decode()
    with tenant_context(world.alpha):
        assert not CustomerMerge.objects.exists()
