"""The integrations API, portal and admin: CRUD with write-only credentials, manual sync on the
worker (202), the sync log, roles, other tenants, and no secret in any answer or log line."""

import logging

import pytest
from django_tenants.utils import tenant_context

from tests.conftest import api_client, host_client
from tests.integrations import fakes
from tests.integrations.conftest import days_ago

URL = "/api/v1/integrations/"


def vtex_body(vtex, **extra):
    return {"integration_type": "vtex", "account_name": "lojaalpha", "base_url": vtex.url, "sync_frequency": "hourly",
            "credentials": {"app_key": vtex.app_key, "app_token": vtex.app_token,
                            "hook_secret": "hook-secret-alpha-0001"}, **extra}


@pytest.fixture
def admin_api(world, api_key):
    return api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write", "integrations"]))


def test_crud_sync_and_sync_log_without_leaking_secrets(world, vtex, admin_api, caplog,
                                                        django_capture_on_commit_callbacks):
    caplog.set_level(logging.DEBUG)
    secrets = [vtex.app_key, vtex.app_token, "hook-secret-alpha-0001"]
    for n in range(6):
        vtex.add(fakes.vtex_detail(n, created=days_ago(2 - n * 0.1)))
    answers = []

    # create
    created = admin_api.post(URL, vtex_body(vtex), content_type="application/json")
    answers.append(created)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["has_credentials"] and "credentials" not in body and body["state"] == "idle"
    pk = body["id"]

    # duplicate, invalid
    dup = admin_api.post(URL, vtex_body(vtex), content_type="application/json")
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "integration_exists"
    bad = admin_api.post(URL, {"integration_type": "mercadolibre", "account_name": "x", "credentials": {}},
                         content_type="application/json")
    assert bad.status_code == 400 and {"credentials", "config"} <= set(bad.json()["error"]["fields"])

    # manual sync: 202, runs on the worker (eager in tests) after commit
    with django_capture_on_commit_callbacks(execute=True):
        queued = admin_api.post(f"{URL}{pk}/sync/")
    answers.append(queued)
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    detail = admin_api.get(f"{URL}{pk}/")
    answers.append(detail)
    assert detail.json()["last_sync_status"] == "success" and detail.json()["last_sync_at"]

    syncs = admin_api.get(f"{URL}{pk}/syncs/")
    answers.append(syncs)
    assert syncs.status_code == 200 and syncs.json()["count"] == 1
    log = syncs.json()["results"][0]
    assert log["status"] == "success" and log["records_created"] == 6 and log["pages"] == 2
    assert log["duration_ms"] is not None and log["trigger"] == "manual"
    assert admin_api.get(f"{URL}{pk}/syncs/?status=error").json()["count"] == 0

    # a failing sync: its error text masks nothing because nothing secret is in it
    vtex.app_token = "rotated-on-the-vtex-side"
    with django_capture_on_commit_callbacks(execute=True):
        admin_api.post(f"{URL}{pk}/sync/")
    failed = admin_api.get(f"{URL}{pk}/syncs/?status=error")
    answers.append(failed)
    assert failed.json()["count"] == 1 and failed.json()["results"][0]["error_code"] == "source_auth_failed"

    # update merges credentials (write-only), list, filter, delete
    updated = admin_api.patch(f"{URL}{pk}/", {"credentials": {"app_token": "rotated-on-the-vtex-side"},
                                              "sync_frequency": "daily"}, content_type="application/json")
    answers.append(updated)
    assert updated.status_code == 200 and updated.json()["sync_frequency"] == "daily"
    listed = admin_api.get(f"{URL}?integration_type=vtex")
    answers.append(listed)
    assert listed.json()["count"] == 1
    assert admin_api.get(f"{URL}?integration_type=google_ads").json()["count"] == 0

    for answer in answers:
        text = answer.content.decode()
        assert not any(secret in text for secret in [*secrets, "rotated-on-the-vtex-side"]), answer.content
    assert not any(secret in caplog.text for secret in secrets)
    with tenant_context(world.alpha):
        from tenants.models import AuditLog

        audit = " ".join(str(a.changes) for a in AuditLog.objects.filter(resource_type="integration"))
        assert "app_token" in audit and not any(secret in audit for secret in secrets)

    assert admin_api.delete(f"{URL}{pk}/").status_code == 204
    assert admin_api.get(f"{URL}{pk}/").status_code == 404


def test_sync_while_running_is_409(world, vtex, admin_api):
    pk = admin_api.post(URL, vtex_body(vtex), content_type="application/json").json()["id"]
    with tenant_context(world.alpha):
        from integrations.services.sync import sync_claim

        sync_claim(integration_id=pk, trigger="schedule")
    answer = admin_api.post(f"{URL}{pk}/sync/")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "sync_running"


@pytest.mark.parametrize("role, allowed", [("owner", True), ("admin", True), ("analyst", False),
                                           ("viewer", False)])
def test_roles(world, alpha_client, role, allowed):
    client = alpha_client(world.user(f"alpha_{role}"))
    for path in (URL, "/api/v1/webhooks/"):
        assert client.get(path).status_code == (200 if allowed else 403)
    assert client.get("/integrations/").status_code == (200 if allowed else 403)


def test_api_key_needs_the_integrations_scope(world, api_key):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write"]))
    assert client.get(URL).status_code == 403
    assert client.post(URL, {}, content_type="application/json").status_code == 403


def test_other_tenants_cannot_see_or_touch(world, vtex, admin_api, api_key, beta_client):
    pk = admin_api.post(URL, vtex_body(vtex), content_type="application/json").json()["id"]
    beta_key = api_client("beta.localhost", api_key(world.beta, scopes=["read", "write", "integrations"]))
    assert beta_key.get(URL).json()["count"] == 0
    assert beta_key.get(f"{URL}{pk}/").status_code == 404
    assert beta_key.post(f"{URL}{pk}/sync/").status_code == 404
    # beta's admin signed in on alpha's host
    outsider = host_client("alpha.localhost", world.user("beta_admin"))
    assert outsider.get(URL).status_code == 403
    assert outsider.post(f"{URL}{pk}/sync/").status_code == 403
    unauthenticated = host_client("alpha.localhost")
    assert unauthenticated.get(URL).status_code in (401, 403)


def test_portal_pages_and_sync_now(world, vtex, admin_api, alpha_client, django_capture_on_commit_callbacks):
    vtex.add(fakes.vtex_detail(1, created=days_ago(1)))
    pk = admin_api.post(URL, vtex_body(vtex), content_type="application/json").json()["id"]
    client = alpha_client(world.user("alpha_admin"))

    page = client.get("/integrations/")
    assert page.status_code == 200 and b"lojaalpha" in page.content and b"never" in page.content
    assert b'href="/integrations/"' in page.content  # nav link
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(f"/integrations/{pk}/sync/")
    assert answer.status_code == 302
    detail = client.get(f"/integrations/{pk}/")
    assert detail.status_code == 200 and b"Success" in detail.content
    assert vtex.app_token.encode() not in detail.content
    assert client.get("/integrations/999999/").status_code == 404
    assert alpha_client(world.user("alpha_viewer")).get(f"/integrations/{pk}/").status_code == 403


def test_admin_pages_hide_credentials(world, vtex, admin_api, alpha_client):
    pk = admin_api.post(URL, vtex_body(vtex), content_type="application/json").json()["id"]
    client = alpha_client(world.user("alpha_owner"))
    for path in ("/admin/integrations/integration/", f"/admin/integrations/integration/{pk}/change/",
                 "/admin/integrations/integration/add/", "/admin/integrations/synclog/",
                 "/admin/integrations/webhookendpoint/", "/admin/integrations/webhookdelivery/",
                 "/admin/integrations/adspenddaily/"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert vtex.app_token.encode() not in answer.content and b"hook-secret-alpha" not in answer.content
    # the "Sync now" action
    answer = client.post("/admin/integrations/integration/", {"action": "sync_now", "_selected_action": [pk]})
    assert answer.status_code == 302
    assert alpha_client(world.user("alpha_viewer")).get("/admin/integrations/integration/").status_code in (302, 403)


def test_webhook_endpoints_are_per_tenant(world, admin_api, api_key):
    created = admin_api.post("/api/v1/webhooks/", {"url": "https://example.com/hook", "events": ["*"]},
                             content_type="application/json")
    assert created.status_code == 201
    endpoint_id = created.json()["id"]
    beta = api_client("beta.localhost", api_key(world.beta, scopes=["read", "write", "integrations"]))
    assert beta.get("/api/v1/webhooks/").json()["count"] == 0
    assert beta.get(f"/api/v1/webhooks/{endpoint_id}/").status_code == 404
    assert beta.post(f"/api/v1/webhooks/{endpoint_id}/ping/").status_code == 404
    assert beta.delete(f"/api/v1/webhooks/{endpoint_id}/").status_code == 404
    viewer = host_client("alpha.localhost", world.user("alpha_viewer"))
    assert viewer.post(f"/api/v1/webhooks/{endpoint_id}/ping/").status_code == 403


# --- the admin keeps what was typed when a save is refused ---------------------------------------------------

ADD = "/admin/integrations/integration/add/"


def admin_form(**values):
    return {"integration_type": "vtex", "account_name": "lojaform", "base_url": "https://lojaform.example.com",
            "config": "{}", "sync_frequency": "hourly", "is_active": "on", **values}


def test_admin_add_refused_by_the_service_shows_errors_and_keeps_the_input(world, alpha_client):
    client = alpha_client(world.user("alpha_owner"))

    # when the service refuses (VTEX needs an app token)
    answer = client.post(ADD, admin_form(credentials='{"app_key": "typed-app-key-0001"}'))

    # then the same page comes back with the error on the field and what was typed kept
    assert answer.status_code == 200
    form = answer.context["adminform"].form
    assert form.errors["credentials"] == ["Required for vtex: app_token."]
    html = answer.content.decode()
    assert 'value="lojaform"' in html and 'value="https://lojaform.example.com"' in html
    assert '<option value="hourly" selected>' in html
    assert "typed-app-key-0001" not in html  # credentials are write-only, even when typed just now
    with tenant_context(world.alpha):
        from integrations.models import Integration

        assert not Integration.objects.filter(account_name="lojaform").exists()

    # and once corrected it saves
    saved = client.post(ADD, admin_form(credentials='{"app_key": "k-0001", "app_token": "t-0001"}'))
    assert saved.status_code == 302
    with tenant_context(world.alpha):
        assert Integration.objects.get(account_name="lojaform").sync_frequency == "hourly"


def test_admin_change_to_an_internal_url_is_a_field_error(world, vtex, admin_api, alpha_client, settings):
    pk = admin_api.post(URL, vtex_body(vtex), content_type="application/json").json()["id"]
    client = alpha_client(world.user("alpha_owner"))
    settings.CDP_ALLOW_PRIVATE_URLS = False

    answer = client.post(f"/admin/integrations/integration/{pk}/change/",
                         admin_form(account_name="lojaalpha", base_url="http://169.254.169.254/latest"))

    assert answer.status_code == 200
    assert "public address" in answer.context["adminform"].form.errors["base_url"][0]
    assert 'value="http://169.254.169.254/latest"' in answer.content.decode()
    assert admin_api.get(f"{URL}{pk}/").json()["base_url"] == vtex.url


def test_admin_webhook_endpoint_errors_stay_on_the_form(world, alpha_client, settings):
    client = alpha_client(world.user("alpha_owner"))
    settings.CDP_ALLOW_PRIVATE_URLS = False
    add = "/admin/integrations/webhookendpoint/add/"

    refused = client.post(add, {"url": "http://10.0.0.8/hook", "description": "internal", "events": '["*"]',
                                "is_active": "on"})
    assert refused.status_code == 200
    assert "public address" in refused.context["adminform"].form.errors["url"][0]
    assert 'value="internal"' in refused.content.decode()

    created = client.post(add, {"url": "https://93.184.215.14/hook", "events": '["*"]', "is_active": "on"},
                          follow=True)
    # shown once on the page answering the form, never in a message (tests/security/test_api_key_scopes.py)
    assert created.status_code == 200 and b'id="secret-once"' in created.content and b"whsec_" in created.content


# --- connectors may not be pointed inside either ----------------------------------------------------------

def test_connector_urls_must_be_public(world, vtex, admin_api, settings, django_capture_on_commit_callbacks):
    # given an integration created while private addresses were allowed (the fake is on 127.0.0.1)
    pk = admin_api.post(URL, vtex_body(vtex), content_type="application/json").json()["id"]
    settings.CDP_ALLOW_PRIVATE_URLS = False

    # registration refuses internal base URLs and OAuth base URLs
    refused = admin_api.post(URL, vtex_body(vtex, account_name="other"), content_type="application/json")
    assert refused.status_code == 400 and set(refused.json()["error"]["fields"]) == {"base_url"}
    oauth = admin_api.post(URL, {"integration_type": "google_ads", "account_name": "ads", "base_url": "",
                                 "config": {"customer_id": "1", "oauth_base_url": "http://[::1]:8080"},
                                 "credentials": {"developer_token": "d", "access_token": "a"}},
                           content_type="application/json")
    assert oauth.status_code == 400 and set(oauth.json()["error"]["fields"]) == {"config"}

    # a sync checks again before calling: the host may resolve elsewhere now
    with django_capture_on_commit_callbacks(execute=True):
        admin_api.post(f"{URL}{pk}/sync/")
    log = admin_api.get(f"{URL}{pk}/syncs/").json()["results"][0]
    assert log["status"] == "error" and log["error_code"] == "unsafe_url"
    assert not vtex.requests
