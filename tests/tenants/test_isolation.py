"""One tenant never sees or changes another's data: API, admin and portal."""

import pytest

from tenants.models import ApiKey, AuditLog
from tests.conftest import PASSWORD, api_client


def test_member_of_alpha_cannot_sign_in_on_beta(world, beta_client):
    client = beta_client()
    response = client.post("/accounts/login/", {"username": "owner@alpha.test", "password": PASSWORD})
    assert response.status_code == 200  # the form again, with an error
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302


def test_alpha_session_on_beta_portal_is_forbidden(world, beta_client):
    client = beta_client(world.user("alpha_owner"))
    assert client.get("/").status_code == 403
    assert client.get("/settings/api-keys/").status_code == 403


def test_alpha_owner_cannot_enter_beta_admin(world, beta_client):
    response = beta_client(world.user("alpha_owner")).get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_alpha_session_cannot_read_beta_api(world, beta_client):
    response = beta_client(world.user("alpha_owner")).get("/api/v1/tenant/")
    assert response.status_code == 403
    assert "Beta" not in response.content.decode()


def test_tenant_admin_lists_only_own_keys_and_audit(world, alpha_client, api_key):
    api_key(world.alpha, name="alpha-only-key")
    api_key(world.beta, name="beta-only-key")
    client = alpha_client(world.user("alpha_owner"))
    keys_page = client.get("/admin/tenants/apikey/").content.decode()
    assert "alpha-only-key" in keys_page and "beta-only-key" not in keys_page
    beta_entry = AuditLog.objects.filter(tenant=world.beta).first()
    assert client.get(f"/admin/tenants/auditlog/{beta_entry.pk}/change/").status_code in (302, 404)
    beta_key = ApiKey.objects.get(name="beta-only-key")
    assert client.get(f"/admin/tenants/apikey/{beta_key.pk}/change/").status_code in (302, 404)


def test_tenant_admin_revoke_action_cannot_reach_other_tenants_keys(world, alpha_client, api_key):
    api_key(world.beta, name="beta-target")
    beta_key = ApiKey.objects.get(name="beta-target")
    client = alpha_client(world.user("alpha_owner"))
    client.post("/admin/tenants/apikey/", {"action": "revoke", "_selected_action": [beta_key.pk]})
    beta_key.refresh_from_db()
    assert beta_key.revoked_at is None


def test_api_lists_are_scoped_to_the_host_tenant(world, api_key):
    api_key(world.beta, name="beta-secret-name")
    # (the audit log has its own capability, ``audit``, since keys and the audit trail were split)
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "keys", "audit"]))
    assert "beta-secret-name" not in client.get("/api/v1/api-keys/?page_size=500").content.decode()
    members = client.get("/api/v1/members/?page_size=500").json()["results"]
    assert {m["email"].split("@")[1] for m in members} == {"alpha.test"}
    audit = client.get("/api/v1/audit-log/?page_size=500").json()["results"]
    assert audit and all("beta" not in str(entry["changes"]) for entry in audit)


@pytest.mark.parametrize("host", ["nowhere.localhost", "evil.example.com"])
def test_unknown_host_serves_nothing(world, host, api_key):
    from django.test import Client

    key = api_key(world.alpha)
    response = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Api-Key {key}").get("/api/v1/tenant/")
    assert response.status_code in (400, 404)
    assert b"Alpha" not in response.content
