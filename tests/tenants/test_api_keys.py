import hashlib

import pytest
from django.core.management import call_command

from tenants.models import ApiKey, AuditLog
from tests.conftest import api_client


def test_create_api_key_command_prints_key_alone_on_last_line(world, capsys):
    # when
    call_command("create_api_key", "alpha", "--name", "VTEX importer", "--scopes", "read", "write")
    # then
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert key.startswith("cdp_") and " " not in key
    stored = ApiKey.objects.get(name="VTEX importer")
    assert stored.tenant == world.alpha
    assert stored.hashed_key == hashlib.sha256(key.encode()).hexdigest()
    assert key not in stored.hashed_key and key[-20:] not in stored.prefix
    response = api_client("alpha.localhost", key).get("/api/v1/tenant/")
    assert response.status_code == 200
    assert response.json()["slug"] == "alpha"


def test_create_api_key_command_unknown_tenant_fails_with_one_line(world):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=r"^Unknown tenant 'nope'\.$"):
        call_command("create_api_key", "nope", "--name", "x")


def test_tenant_endpoint_describes_the_calling_keys_tenant(world, api_key):
    key = api_key(world.alpha, scopes=["read"])
    body = api_client("alpha.localhost", key).get("/api/v1/tenant/").json()
    assert body["name"] == "Alpha Store"
    assert body["type"] == "business" and body["status"] == "active"
    assert body["settings"]["currency"] == "ARS" and body["settings"]["timezone"]
    assert "alpha.localhost" in body["domains"]
    assert body["usage"]["users"] == 4 and body["usage"]["api_keys"] >= 1


def test_key_of_one_tenant_is_refused_on_another_tenants_host(world, api_key):
    key = api_key(world.alpha)
    response = api_client("beta.localhost", key).get("/api/v1/tenant/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert "beta" not in response.content.decode().lower() and "alpha" not in response.content.decode().lower()


def test_key_on_public_host_reaches_no_tenant_data(world, api_key):
    key = api_key(world.alpha)
    response = api_client("localhost", key).get("/api/v1/tenant/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_wrong_and_malformed_keys_are_401_in_the_common_shape(world, api_key):
    key = api_key(world.alpha)
    for bad in [key[:-1] + ("A" if key[-1] != "A" else "B"), "cdp_short_x", "garbage", ""]:
        response = api_client("alpha.localhost", bad).get("/api/v1/tenant/")
        assert response.status_code == 401, bad
        assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_key_lifecycle_create_list_revoke_through_api(world, api_key):
    admin_key = api_key(world.alpha, scopes=["read", "keys"])
    client = api_client("alpha.localhost", admin_key)
    # create: the secret is in this response only
    created = client.post("/api/v1/api-keys/", {"name": "CRM", "scopes": ["read"]}, content_type="application/json")
    assert created.status_code == 201
    new_key = created.json()["key"]
    assert api_client("alpha.localhost", new_key).get("/api/v1/tenant/").status_code == 200
    # list: never the secret nor its hash
    listing = client.get("/api/v1/api-keys/?name=CRM")
    assert listing.status_code == 200 and listing.json()["count"] == 1
    row = listing.json()["results"][0]
    assert "key" not in row and "hashed_key" not in row and new_key not in listing.content.decode()
    assert row["prefix"] in new_key
    # revoke: the key stops working at once, and revoking twice is harmless
    assert client.delete(f"/api/v1/api-keys/{row['id']}/").status_code == 204
    assert client.delete(f"/api/v1/api-keys/{row['id']}/").status_code == 204
    assert api_client("alpha.localhost", new_key).get("/api/v1/tenant/").status_code == 401
    actions = list(AuditLog.objects.filter(tenant=world.alpha, resource_id=str(row["id"]))
                   .values_list("action", flat=True))
    assert sorted(actions) == ["api_key.create", "api_key.revoke"]


def test_key_scopes_are_enforced(world, api_key):
    read_only = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))
    response = read_only.post("/api/v1/api-keys/", {"name": "x"}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert read_only.get("/api/v1/api-keys/").status_code == 403
    assert read_only.get("/api/v1/members/").status_code == 200


def test_api_key_create_rejects_unknown_scopes_with_field_errors(world, api_key):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["keys"]))
    response = client.post("/api/v1/api-keys/", {"name": "", "scopes": ["root"]}, content_type="application/json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert "name" in fields and "scopes" in fields


def test_cannot_revoke_another_tenants_key(world, api_key):
    beta_key_id = ApiKey.objects.get(prefix=api_key(world.beta).split("_")[1]).pk
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["keys"]))
    assert client.delete(f"/api/v1/api-keys/{beta_key_id}/").status_code == 404
    assert ApiKey.objects.get(pk=beta_key_id).revoked_at is None


def test_expired_key_is_refused(world, api_key):
    import datetime

    from django.utils import timezone

    key = api_key(world.alpha)
    ApiKey.objects.filter(prefix=key.split("_")[1]).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert api_client("alpha.localhost", key).get("/api/v1/tenant/").status_code == 401
