"""What the security review tried and found holding: regression tests so that it keeps holding.

Already covered elsewhere (not repeated here):
- unknown hosts get 404: tests/tenants/test_isolation.py::test_unknown_host_serves_nothing;
- a tenant's key on another tenant's host gets 401 (and 404 on the platform host):
  tests/tenants/test_api_keys.py::test_key_of_one_tenant_is_refused_on_another_tenants_host and
  ::test_key_on_public_host_reaches_no_tenant_data;
- CSRF on the portal's session writes: tests/tenants/test_sessions.py::test_revoke_needs_a_csrf_token;
- the jump sign-in is single-use and tenant-bound:
  tests/test_admin_pages.py::test_staff_jumps_from_operators_admin_into_tenant_admin, and only
  superusers mint it: ::test_non_superuser_cannot_mint_jump_tokens;
- a read-only key cannot manage keys: tests/tenants/test_api_keys.py::test_key_scopes_are_enforced;
  viewers cannot create segments: tests/analytics/test_api_and_portal.py::test_segments_crud_members_and_csv_export;
  viewers and analysts do not enter the tenant admin: tests/tenants/test_roles.py.

Added below: X-Forwarded-Host is ignored; a session cookie replayed on another tenant's host;
viewers, analysts and read-only keys cannot write customers or orders; CSRF on the API's session
writes; the jump sign-in expires and a refused token is not burnt.
"""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django_tenants.utils import tenant_context

from tests.conftest import api_client
from tests.security.conftest import sign_in, signed_in


def test_x_forwarded_host_is_ignored(world, api_key):
    # beta's key sent to alpha's host claiming to be beta: the real Host decides, and refuses it
    beta_key = api_key(world.beta)
    response = Client(HTTP_HOST="alpha.localhost", HTTP_X_FORWARDED_HOST="beta.localhost",
                      HTTP_AUTHORIZATION=f"Api-Key {beta_key}").get("/api/v1/tenant/")
    assert response.status_code == 401
    # and alpha's key on alpha's host claiming to be beta still sees alpha
    alpha_key = api_key(world.alpha)
    body = Client(HTTP_HOST="alpha.localhost", HTTP_X_FORWARDED_HOST="beta.localhost",
                  HTTP_AUTHORIZATION=f"Api-Key {alpha_key}").get("/api/v1/tenant/").json()
    assert body["slug"] == "alpha"
    # an unknown host cannot be reached through the header either
    unknown = Client(HTTP_HOST="nowhere.localhost", HTTP_X_FORWARDED_HOST="alpha.localhost").get("/")
    assert unknown.status_code == 404


def test_a_members_session_replayed_on_another_tenants_host_is_refused(world):
    alpha, response = sign_in("alpha.localhost", "owner@alpha.test")
    assert response.status_code == 302 and signed_in(alpha)
    replay = Client(HTTP_HOST="beta.localhost")
    replay.cookies = alpha.cookies
    assert replay.get("/api/v1/tenant/").status_code == 403
    assert replay.get("/").status_code == 403
    admin = replay.get("/admin/")
    assert admin.status_code == 302 and "/admin/login/" in admin["Location"]


@pytest.fixture
def customer(world):
    from tests.customers.factories import CustomerFactory

    with tenant_context(world.alpha):
        return CustomerFactory()


@pytest.mark.parametrize("who", ["viewer", "analyst", "read-key"])
def test_viewers_analysts_and_read_only_keys_cannot_write(world, customer, alpha_client, api_key, who):
    client = (api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "analytics"]))
              if who == "read-key" else alpha_client(world.user(f"alpha_{who}")))
    assert client.patch(f"/api/v1/customers/{customer.pk}/", {"first_name": "X"},
                        content_type="application/json").status_code == 403
    assert client.post("/api/v1/orders/ingest/", {"orders": []}, content_type="application/json").status_code == 403
    assert client.post(f"/api/v1/customers/{customer.pk}/pseudonymize/", {},
                       content_type="application/json").status_code == 403
    with tenant_context(world.alpha):
        customer.refresh_from_db()
    assert customer.first_name != "X"


def test_api_session_writes_need_a_csrf_token(world):
    signed, response = sign_in("alpha.localhost", "admin@alpha.test")
    assert response.status_code == 302
    strict = Client(HTTP_HOST="alpha.localhost", enforce_csrf_checks=True)
    strict.cookies = signed.cookies
    refused = strict.post("/api/v1/api-keys/", {"name": "no-csrf", "scopes": ["read"]},
                          content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]
    from tenants.models import ApiKey

    assert not ApiKey.objects.filter(name="no-csrf").exists()


def jump_path(world, public_client, tenant):
    response = public_client(world.staff).get(f"/admin/tenants/tenant/{tenant.pk}/jump/")
    return response["Location"].split(".localhost", 1)[1].lstrip(":0123456789")


def test_the_jump_sign_in_expires(world, public_client, monkeypatch):
    from django.core import signing

    from tenants.services.jump import MAX_AGE_SECONDS

    path = jump_path(world, public_client, world.alpha)
    later = time.time() + MAX_AGE_SECONDS + 1
    monkeypatch.setattr(signing.time, "time", lambda: later)
    client = Client(HTTP_HOST="alpha.localhost")
    assert client.get(path).status_code == 403
    assert not signed_in(client)


def test_a_jump_token_refused_on_the_wrong_tenant_is_not_burnt(world, public_client):
    path = jump_path(world, public_client, world.alpha)
    assert Client(HTTP_HOST="beta.localhost").get(path).status_code == 403
    landing = Client(HTTP_HOST="alpha.localhost").get(path)
    assert landing.status_code == 302 and landing["Location"] == "/admin/"


def test_a_tampered_jump_token_is_refused(world, public_client):
    path = jump_path(world, public_client, world.alpha)
    assert Client(HTTP_HOST="alpha.localhost").get(path[:-2] + "xx").status_code == 403
