"""C8: a suspended (or cancelled) tenant keeps nothing but sign-in, the page saying why, and,
for owners, billing to pay. Portal, tenant admin and API are refused by one middleware."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import api_client
from tests.security.conftest import sign_in, signed_in

PORTAL_PAGES = ["/", "/customers/", "/analytics/", "/settings/api-keys/", "/members/", "/settings/sessions/"]
ADMIN_PAGES = ["/admin/", "/admin/customers/customer/", "/admin/tenants/apikey/", "/admin/tenants/membership/"]


@pytest.mark.parametrize("status", ["suspended", "cancelled"])
def test_portal_and_tenant_admin_are_refused_with_the_reason(world, suspend, alpha_client, beta_client, status):
    suspend(world.alpha, reason="Invoice 2026-11 unpaid", status=status)
    for role in ("owner", "admin", "viewer"):
        client = alpha_client(world.user(f"alpha_{role}"))
        for path in PORTAL_PAGES + ADMIN_PAGES:
            response = client.get(path)
            assert response.status_code == 403, (role, path, response.status_code)
            assert "Invoice 2026-11 unpaid" in response.content.decode(), (role, path)
    # another tenant is unaffected
    assert beta_client(world.user("beta_viewer")).get("/").status_code == 200
    assert beta_client(world.user("beta_owner")).get("/admin/").status_code == 200


def test_writes_are_refused_too(world, suspend, alpha_client):
    suspend(world.alpha)
    client = alpha_client(world.user("alpha_owner"))
    assert client.post("/settings/api-keys/", {"name": "x", "scopes": ["read"]}).status_code == 403
    assert client.post("/admin/tenants/apikey/add/", {"name": "x", "scopes": ["read"]}).status_code == 403
    assert client.post("/members/invite/", {"email": "a@example.com", "role": "viewer"}).status_code == 403
    from tenants.models import ApiKey, Invitation

    assert not ApiKey.objects.filter(tenant=world.alpha, name="x").exists()
    assert not Invitation.objects.filter(tenant=world.alpha).exists()


def test_api_is_refused_for_keys_and_sessions_including_the_hook(world, suspend, api_key, alpha_client):
    key = api_key(world.alpha, scopes=["read", "write", "billing"])
    suspend(world.alpha)
    for client in (api_client("alpha.localhost", key), alpha_client(world.user("alpha_owner")), Client(
            HTTP_HOST="alpha.localhost")):
        for path in ("/api/v1/tenant/", "/api/v1/customers/", "/api/v1/billing/orders/"):
            response = client.get(path)
            assert response.status_code == 403, path
            assert response.json()["error"]["code"] == "tenant_inactive"
    hook = Client(HTTP_HOST="alpha.localhost").post("/api/v1/hooks/vtex/1/", {}, content_type="application/json")
    assert hook.status_code == 403 and hook.json()["error"]["code"] == "tenant_inactive"


def test_sign_in_works_then_shows_the_suspension_page(world, suspend):
    suspend(world.alpha, reason="Contract under review")
    client, response = sign_in("alpha.localhost", "viewer@alpha.test")
    assert response.status_code == 302 and signed_in(client)
    page = client.get(response["Location"])
    assert page.status_code == 403 and "Contract under review" in page.content.decode()
    assert client.get("/suspended/").status_code == 200
    # anonymous visitors are sent to the sign-in page, which works
    anonymous = Client(HTTP_HOST="alpha.localhost")
    redirect = anonymous.get("/customers/")
    assert redirect.status_code == 302 and redirect["Location"].startswith("/accounts/login/")
    assert anonymous.get("/accounts/login/").status_code == 200
    assert anonymous.get("/accounts/password-reset/").status_code == 200


def test_owners_reach_billing_others_do_not(world, suspend, alpha_client):
    suspend(world.alpha, reason="Invoice 2026-11 unpaid")
    owner_page = alpha_client(world.user("alpha_owner")).get("/suspended/")
    assert owner_page.status_code == 200
    assert "Invoice 2026-11 unpaid" in owner_page.content.decode() and "Go to billing to pay" in owner_page.content.decode()
    assert alpha_client(world.user("alpha_owner")).get("/billing/").status_code == 200
    admin = alpha_client(world.user("alpha_admin"))
    admin_page = admin.get("/suspended/")
    assert admin_page.status_code == 200 and "Go to billing to pay" not in admin_page.content.decode()
    refused = admin.get("/billing/")
    assert refused.status_code == 403 and "Invoice 2026-11 unpaid" in refused.content.decode()


def test_an_active_tenant_redirects_away_from_the_suspension_page(world, alpha_client):
    assert alpha_client(world.user("alpha_viewer")).get("/suspended/").status_code == 302


def test_reactivation_restores_access(world, suspend, alpha_client):
    suspend(world.alpha)
    client = alpha_client(world.user("alpha_viewer"))
    assert client.get("/").status_code == 403
    suspend(world.alpha, reason="", status="active")
    assert client.get("/").status_code == 200
