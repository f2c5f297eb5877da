"""The customers' portal pages: list, search, the Customer 360 and the change history."""

from __future__ import annotations

from customers.masking import mask_email


def test_portal_pages_render_and_filter(world, alpha_client, customer):
    client = alpha_client(world.user("alpha_viewer"))

    listing = client.get("/customers/")
    search = client.get("/customers/", {"email": customer.email.upper()})
    detail = client.get(f"/customers/{customer.pk}/")
    changes = client.get(f"/customers/{customer.pk}/changes/")

    # A viewer sees the e-mail masked (tests/customers/test_masking.py covers every path).
    assert listing.status_code == 200 and customer.email not in listing.content.decode()
    assert mask_email(customer.email) in listing.content.decode()
    assert search.status_code == 200 and list(search.context["page"]) == [customer]
    assert client.get("/customers/", {"email": "nobody@x.com"}).context["page"].paginator.count == 0
    assert detail.status_code == 200 and "Av. Corrientes" in detail.content.decode()
    assert changes.status_code == 200
    assert b'href="/customers/"' in client.get("/").content  # the nav link


def test_portal_needs_membership_and_isolates_tenants(world, alpha_client, beta_client, customer):
    assert alpha_client().get("/customers/").status_code == 302
    assert beta_client(world.user("beta_owner")).get(f"/customers/{customer.pk}/").status_code == 404
    assert alpha_client(world.user("beta_owner")).get("/customers/").status_code == 403
