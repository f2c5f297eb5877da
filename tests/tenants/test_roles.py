"""Viewers read, analysts run analytics, admins manage integrations and keys, owners billing."""

import pytest

from tenants.roles import capabilities_for_role


@pytest.mark.parametrize(
    "role, can_read, can_manage_keys",
    [("viewer", True, False), ("analyst", True, False), ("admin", True, True), ("owner", True, True)],
)
def test_role_permissions_on_the_api(world, alpha_client, role, can_read, can_manage_keys):
    client = alpha_client(world.user(f"alpha_{role}"))
    assert (client.get("/api/v1/tenant/").status_code == 200) is can_read
    assert (client.get("/api/v1/api-keys/").status_code == 200) is can_manage_keys
    created = client.post("/api/v1/api-keys/", {"name": f"{role} key"}, content_type="application/json")
    assert (created.status_code == 201) is can_manage_keys


def test_role_capabilities_are_nested():
    viewer, analyst, admin, owner = (capabilities_for_role(r) for r in ("viewer", "analyst", "admin", "owner"))
    assert viewer < analyst < admin < owner
    assert "analytics" in analyst and "analytics" not in viewer
    assert "integrations" in admin and "keys" in admin and "billing" not in admin
    assert "billing" in owner


def test_outsider_without_membership_gets_nothing(world, alpha_client):
    client = alpha_client(world.user("outsider"))
    assert client.get("/api/v1/tenant/").status_code == 403
    assert client.get("/").status_code == 403
    assert client.get("/admin/").status_code == 302


def test_only_owners_and_admins_enter_the_tenant_admin(world, alpha_client):
    assert alpha_client(world.user("alpha_owner")).get("/admin/").status_code == 200
    assert alpha_client(world.user("alpha_admin")).get("/admin/").status_code == 200
    assert alpha_client(world.user("alpha_viewer")).get("/admin/").status_code == 302
    assert alpha_client(world.user("alpha_analyst")).get("/admin/").status_code == 302


def test_operators_admin_is_for_staff_only(world, public_client):
    assert public_client(world.staff).get("/admin/").status_code == 200
    assert public_client(world.user("alpha_owner")).get("/admin/").status_code == 302


def test_suspended_tenant_api_answers_403(world, alpha_client, api_key):
    from cdp.context import Actor
    from tenants.services import tenant_update
    from tests.conftest import api_client

    key = api_key(world.alpha)
    tenant_update(tenant=world.alpha, actor=Actor.system("tests"), status="suspended")
    response = api_client("alpha.localhost", key).get("/api/v1/tenant/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "tenant_inactive"
