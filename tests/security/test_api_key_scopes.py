"""C2: nobody grants a scope they do not hold; capabilities named for what they guard (credit,
audit, members, export); old keys keep working through the scope-split migration; C13: a new
secret is shown once on a page and never travels in a cookie or a stored message."""

from __future__ import annotations

import importlib

import pytest
from django.conf import settings
from django_tenants.utils import tenant_context

from cdp.exceptions import ApplicationError
from tenants.models import ApiKey
from tenants.roles import CAPABILITIES, capabilities_for_role
from tests.conftest import api_client
from tests.security.conftest import SYSTEM, actor_of, key_actor


def key_row(secret: str) -> ApiKey:
    return ApiKey.objects.get(prefix=secret.split("_")[1])


# --- the ceiling, in the service -----------------------------------------------------------------


def test_a_key_scoped_keys_only_cannot_mint_wider_keys(world, api_key):
    from tenants.services import api_key_create

    keys_only = key_row(api_key(world.alpha, scopes=["keys"]))
    with pytest.raises(ApplicationError) as refused:
        api_key_create(tenant=world.alpha, name="escalate", scopes=["read", "billing"], actor=key_actor(keys_only))
    assert "scopes" in refused.value.fields
    assert not ApiKey.objects.filter(name="escalate").exists()
    assert api_key_create(tenant=world.alpha, name="same", scopes=["keys"], actor=key_actor(keys_only)).key


def test_a_member_grants_only_what_their_role_holds(world, person):
    from tenants.services import api_key_create

    admin = person(world.alpha, "admin")
    with pytest.raises(ApplicationError):
        api_key_create(tenant=world.alpha, name="pay", scopes=["billing"], actor=actor_of(admin))
    # even when an interface passes wider capabilities than the role holds
    with pytest.raises(ApplicationError):
        api_key_create(tenant=world.alpha, name="pay", scopes=["billing"], actor=actor_of(admin),
                       capabilities=CAPABILITIES)
    # and the interface's view of the caller narrows it further
    with pytest.raises(ApplicationError):
        api_key_create(tenant=world.alpha, name="w", scopes=["write"], actor=actor_of(admin), capabilities={"read"})
    owner = person(world.alpha, "owner")
    assert api_key_create(tenant=world.alpha, name="pay", scopes=["billing"], actor=actor_of(owner)).key


def test_a_member_of_another_tenant_grants_nothing_here(world):
    from tenants.services import api_key_create

    with pytest.raises(ApplicationError):
        api_key_create(tenant=world.alpha, name="x", scopes=["read"], actor=actor_of(world.user("beta_owner")))


# --- the ceiling, through the interfaces --------------------------------------------------------------


def test_api_key_scoped_keys_cannot_mint_billing(world, api_key):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["keys"]))
    response = client.post("/api/v1/api-keys/", {"name": "x", "scopes": ["read", "write", "billing", "security"]},
                           content_type="application/json")
    assert response.status_code == 400 and "scopes" in response.json()["error"]["fields"]
    ok = client.post("/api/v1/api-keys/", {"name": "y", "scopes": ["keys"]}, content_type="application/json")
    assert ok.status_code == 201


def test_api_admin_session_cannot_mint_billing(world, alpha_client):
    client = alpha_client(world.user("alpha_admin"))
    response = client.post("/api/v1/api-keys/", {"name": "x", "scopes": ["billing", "read"]},
                           content_type="application/json")
    assert response.status_code == 400
    assert not ApiKey.objects.filter(tenant=world.alpha, name="x").exists()


def test_portal_form_offers_and_accepts_only_held_scopes(world, alpha_client):
    client = alpha_client(world.user("alpha_admin"))
    page = client.get("/settings/api-keys/").content.decode()
    assert 'value="keys"' in page and 'value="billing"' not in page
    response = client.post("/settings/api-keys/", {"name": "portal-pay", "scopes": ["billing"]})
    assert response.status_code == 200
    assert not ApiKey.objects.filter(name="portal-pay").exists()


def test_tenant_admin_form_offers_and_accepts_only_held_scopes(world, alpha_client):
    client = alpha_client(world.user("alpha_admin"))
    page = client.get("/admin/tenants/apikey/add/").content.decode()
    assert 'value="keys"' in page and 'value="billing"' not in page
    response = client.post("/admin/tenants/apikey/add/", {"name": "admin-pay", "scopes": ["billing"]})
    assert response.status_code == 200
    assert not ApiKey.objects.filter(name="admin-pay").exists()


def test_operators_admin_grants_any_scope(world, public_client):
    response = public_client(world.staff).post("/admin/tenants/apikey/add/", {
        "tenant": world.alpha.pk, "name": "ops-key", "scopes": list(CAPABILITIES)})
    assert response.status_code == 200
    assert set(ApiKey.objects.get(name="ops-key").scopes) == set(CAPABILITIES)


# --- C13: the secret is shown once, on the page, and never in a cookie or message ----------------------


def test_messages_are_kept_server_side():
    assert settings.MESSAGE_STORAGE == "django.contrib.messages.storage.session.SessionStorage"


def test_tenant_admin_shows_a_new_key_once_and_keeps_it_nowhere(world, alpha_client):
    client = alpha_client(world.user("alpha_owner"))
    response = client.post("/admin/tenants/apikey/add/", {"name": "once", "scopes": ["read"]})
    assert response.status_code == 200
    stored = ApiKey.objects.get(name="once")
    body = response.content.decode()
    assert f"cdp_{stored.prefix}_" in body
    assert "no-store" in response["Cache-Control"]
    secret = body.split(f"cdp_{stored.prefix}_", 1)[1].split("<", 1)[0]
    assert all(secret not in morsel.value for morsel in response.cookies.values())
    assert secret not in str(dict(client.session))
    later = client.get("/admin/tenants/apikey/").content.decode() + client.get("/admin/").content.decode()
    assert secret not in later


def test_webhook_secret_is_shown_once_on_the_page(world, alpha_client):
    from integrations.models import WebhookEndpoint

    client = alpha_client(world.user("alpha_owner"))
    response = client.post("/admin/integrations/webhookendpoint/add/", {
        "url": "https://hooks.example.com/in", "description": "", "events": '["customer.created"]',
        "is_active": "on"})
    assert response.status_code == 200, response.content[:800]
    with tenant_context(world.alpha):
        assert WebhookEndpoint.objects.filter(url="https://hooks.example.com/in").exists()
    body = response.content.decode()
    assert 'id="secret-once"' in body
    secret = body.split('id="secret-once"', 1)[1].split(">", 1)[1].split("<", 1)[0]
    assert len(secret) >= 16
    assert all(secret not in morsel.value for morsel in response.cookies.values())
    assert secret not in str(dict(client.session))
    assert secret not in client.get("/admin/integrations/webhookendpoint/").content.decode()


# --- capabilities named for what they guard -----------------------------------------------------------


def test_roles_table():
    admin, owner = capabilities_for_role("admin"), capabilities_for_role("owner")
    assert owner == frozenset(CAPABILITIES)
    assert {"credit", "audit", "members", "export", "write", "integrations", "keys", "security"} <= admin
    assert "billing" not in admin
    for role in ("viewer", "analyst"):
        assert not {"credit", "audit", "members", "export"} & capabilities_for_role(role)


def test_audit_log_needs_audit_not_keys(world, api_key, alpha_client):
    assert api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "keys"])).get(
        "/api/v1/audit-log/").status_code == 403
    assert api_client("alpha.localhost", api_key(world.alpha, scopes=["audit"])).get(
        "/api/v1/audit-log/").status_code == 200
    for role in ("viewer", "analyst"):
        assert alpha_client(world.user(f"alpha_{role}")).get("/api/v1/audit-log/").status_code == 403
    assert alpha_client(world.user("alpha_admin")).get("/api/v1/audit-log/").status_code == 200


def test_credit_approval_needs_credit_not_integrations(world, api_key, alpha_client):
    from customers.services import credit as credit_services
    from tests.customers.factories import CustomerFactory

    with tenant_context(world.alpha):
        customer = CustomerFactory(customer_type="b2b")
        account = credit_services.credit_account_request(customer_id=customer.pk, requested_limit="100",
                                                         actor=SYSTEM)
    url = f"/api/v1/credit/{account.pk}/approve/"
    body = {"credit_limit": "100", "note": "ok"}
    connector = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write", "integrations"]))
    assert connector.post(url, body, content_type="application/json").status_code == 403
    for role in ("viewer", "analyst"):
        assert alpha_client(world.user(f"alpha_{role}")).post(url, body,
                                                                content_type="application/json").status_code == 403
    credit = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "credit"]))
    assert credit.post(url, body, content_type="application/json").status_code == 200


def test_loyalty_program_edits_need_loyalty_not_integrations(world, api_key, alpha_client):
    """Tier rules and the program shape every customer's earnings: ``loyalty``, which owners and
    admins hold and a connector's key (``integrations``) does not get by accident."""
    for role in ("owner", "admin"):
        assert "loyalty" in capabilities_for_role(role)
    url, body = "/api/v1/loyalty/program/", {"points_validity_days": 180}
    connector = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write", "integrations"]))
    assert connector.patch(url, body, content_type="application/json").status_code == 403
    for role in ("viewer", "analyst"):
        assert alpha_client(world.user(f"alpha_{role}")).patch(url, body,
                                                                 content_type="application/json").status_code == 403
    loyalty = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "loyalty"]))
    assert loyalty.patch(url, body, content_type="application/json").status_code == 200
    assert alpha_client(world.user("alpha_admin")).patch(url, body, content_type="application/json").status_code == 200


def test_the_counted_sale_rule_needs_sales_not_integrations(world, api_key, alpha_client):
    """What counts as a sale rewrites every customer's totals: ``sales``, held by owners and
    admins; a connector's key (``integrations``) is refused."""
    for role in ("owner", "admin"):
        assert "sales" in capabilities_for_role(role)
    url, body = "/api/v1/sales/counted-statuses/", {"statuses": ["paid"]}
    connector = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write", "integrations"]))
    assert connector.put(url, body, content_type="application/json").status_code == 403
    sales = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "sales"]))
    assert sales.put(url, body, content_type="application/json").status_code in (200, 202)


def test_tenant_admin_pages_follow_capabilities(world, alpha_client, api_key):
    """The audit log page needs ``audit``, keys ``keys``, members ``members``: all held by admins;
    a role without them never enters (only owners and admins enter the tenant admin)."""
    admin = alpha_client(world.user("alpha_admin"))
    for path in ("/admin/tenants/auditlog/", "/admin/tenants/apikey/", "/admin/tenants/membership/",
                 "/admin/tenants/invitation/", "/admin/tenants/usersession/"):
        assert admin.get(path).status_code == 200, path
        assert alpha_client(world.user("alpha_analyst")).get(path).status_code == 302, path


# --- old keys keep working -----------------------------------------------------------------------------


def test_scope_split_migration_keeps_old_keys_working(world, api_key):
    from django.apps import apps

    migration = importlib.import_module("tenants.migrations.0005_split_key_scopes")
    connector = key_row(api_key(world.alpha, scopes=["read", "integrations"]))
    key_admin = key_row(api_key(world.alpha, scopes=["keys"]))
    writer = key_row(api_key(world.alpha, scopes=["write"]))
    migration.split_scopes(apps, None)
    for key in (connector, key_admin, writer):
        key.refresh_from_db()
    assert set(connector.scopes) == {"read", "integrations", "credit", "export"}
    assert set(key_admin.scopes) == {"keys", "audit"}
    assert writer.scopes == ["write"]
    assert not any("members" in key.scopes for key in (connector, key_admin, writer))
    migration.unsplit_scopes(apps, None)
    connector.refresh_from_db()
    assert set(connector.scopes) == {"read", "integrations"}


@pytest.mark.parametrize("migration_name, new", [("0009_loyalty_key_scope", "loyalty"), ("0012_sales_key_scope", "sales")])
def test_split_from_integrations_keeps_connector_keys_doing_what_they_did(world, api_key, migration_name, new):
    from django.apps import apps

    migration = importlib.import_module(f"tenants.migrations.{migration_name}")
    connector = key_row(api_key(world.alpha, scopes=["read", "integrations"]))
    reader = key_row(api_key(world.alpha, scopes=["read"]))
    migration.split_scopes(apps, None)
    migration.split_scopes(apps, None)  # twice: nothing added twice
    connector.refresh_from_db()
    reader.refresh_from_db()
    assert connector.scopes == ["read", "integrations", new]
    assert reader.scopes == ["read"]
    migration.unsplit_scopes(apps, None)
    connector.refresh_from_db()
    assert connector.scopes == ["read", "integrations"]
