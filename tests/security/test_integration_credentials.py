"""Stored credentials never follow a changed target (review C11).

An admin (``integrations`` capability) cannot read credentials, but could point the integration at
a host of their own and let the next sync carry the stored secrets there. Changing any URL the
credentials are sent to (the base URL, the VTEX account when it names the host, Google's OAuth
server) must come with the credentials again, in the same request: otherwise 400 on
``credentials``, and the stored ones are dropped, never sent to the new host."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from tests.conftest import api_client
from tests.integrations import fakes
from tests.integrations import conftest as integration_fixtures

# The integration suite's fixtures (fakes, fast HTTP settings, fresh Redis slots), used here too.
_fast_http = integration_fixtures._fast_http
_fresh_outbound_slots = integration_fixtures._fresh_outbound_slots
_no_outbound_in_requests = integration_fixtures._no_outbound_in_requests
_no_plan_quota = integration_fixtures._no_plan_quota
vtex = integration_fixtures.vtex

URL = "/api/v1/integrations/"


@pytest.fixture
def admin_api(world, api_key):
    return api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write", "integrations"]))


@pytest.fixture
def collector():
    """The attacker's host: records what it is sent."""
    server = fakes.FakeVtex(app_key="attacker-app-key", app_token="attacker-app-token")
    server.start()
    yield server
    server.stop()


def create_vtex(admin_api, vtex, **extra):
    body = {"integration_type": "vtex", "account_name": "lojaalpha", "base_url": vtex.url,
            "credentials": {"app_key": vtex.app_key, "app_token": vtex.app_token,
                            "hook_secret": "hook-secret-alpha-0001"}, **extra}
    created = admin_api.post(URL, body, content_type="application/json")
    assert created.status_code == 201, created.content
    return created.json()["id"]


def sent_secrets(server) -> set[str]:
    return {value for request in server.requests for value in request.headers.values()}


def test_changing_the_base_url_without_credentials_is_refused(world, vtex, collector, admin_api,
                                                              django_capture_on_commit_callbacks):
    pk = create_vtex(admin_api, vtex)

    # when an admin points the integration at another host, sending no credentials
    moved = admin_api.patch(f"{URL}{pk}/", {"base_url": f"{collector.url}/attacker"}, content_type="application/json")

    # then it is refused on the credentials field, and nothing changed
    assert moved.status_code == 400, moved.content
    error = moved.json()["error"]
    assert error["code"] == "credentials_required"
    assert "app_key" in error["fields"]["credentials"][0] and "app_token" in error["fields"]["credentials"][0]
    assert admin_api.get(f"{URL}{pk}/").json()["base_url"] == vtex.url

    # and a sync still goes to the original host only
    with django_capture_on_commit_callbacks(execute=True):
        admin_api.post(f"{URL}{pk}/sync/")
    assert not collector.requests and vtex.requests


def test_with_new_credentials_only_those_reach_the_new_host(world, vtex, collector, admin_api,
                                                           django_capture_on_commit_callbacks):
    pk = create_vtex(admin_api, vtex)

    # when the admin moves it with credentials for the new host (partial: only the app key)
    partial = admin_api.patch(f"{URL}{pk}/", {"base_url": collector.url, "credentials": {"app_key": "typed"}},
                              content_type="application/json")
    assert partial.status_code == 400 and partial.json()["error"]["fields"]["credentials"][0].count("app_token")

    # and with all of them
    moved = admin_api.patch(f"{URL}{pk}/", {"base_url": collector.url, "credentials": {
        "app_key": collector.app_key, "app_token": collector.app_token}}, content_type="application/json")
    assert moved.status_code == 200, moved.content
    with django_capture_on_commit_callbacks(execute=True):
        admin_api.post(f"{URL}{pk}/sync/")

    # then the new host got the new credentials and never the old ones
    assert collector.requests
    seen = sent_secrets(collector)
    assert collector.app_token in seen and vtex.app_token not in seen and vtex.app_key not in seen
    with tenant_context(world.alpha):
        from integrations.models import Integration
        from integrations.services import integration_credentials

        stored = integration_credentials(integration=Integration.objects.get(pk=pk))
    # the inbound hook secret (never sent anywhere) stays; the old app token is gone
    assert stored == {"app_key": collector.app_key, "app_token": collector.app_token,
                      "hook_secret": "hook-secret-alpha-0001"}


def test_a_trailing_slash_or_other_settings_keep_the_credentials(world, vtex, admin_api):
    pk = create_vtex(admin_api, vtex)

    same = admin_api.patch(f"{URL}{pk}/", {"base_url": f"{vtex.url}/", "sync_frequency": "hourly"},
                           content_type="application/json")

    assert same.status_code == 200, same.content
    assert same.json()["has_credentials"]


def test_vtex_account_names_the_host_when_there_is_no_base_url(world, admin_api, settings):
    settings.CDP_ALLOW_PRIVATE_URLS = True
    created = admin_api.post(URL, {"integration_type": "vtex", "account_name": "lojaalpha", "base_url": "",
                                   "credentials": {"app_key": "k-0001", "app_token": "t-0001"}},
                             content_type="application/json")
    assert created.status_code == 201, created.content

    # lojaalpha.vtexcommercestable.com.br -> attacker.vtexcommercestable.com.br
    moved = admin_api.patch(f"{URL}{created.json()['id']}/", {"account_name": "attacker"},
                            content_type="application/json")

    assert moved.status_code == 400 and moved.json()["error"]["code"] == "credentials_required"


def test_google_oauth_server_change_needs_the_credentials_again(world, admin_api):
    created = admin_api.post(URL, {
        "integration_type": "google_ads", "account_name": "ads", "base_url": "https://googleads.googleapis.com",
        "config": {"customer_id": "123"},
        "credentials": {"developer_token": "dev-0001", "client_id": "cid", "client_secret": "cs-0001",
                        "refresh_token": "rt-0001"}}, content_type="application/json")
    assert created.status_code == 201, created.content

    moved = admin_api.patch(f"{URL}{created.json()['id']}/",
                            {"config": {"customer_id": "123", "oauth_base_url": "https://oauth.attacker.example"}},
                            content_type="application/json")

    assert moved.status_code == 400 and moved.json()["error"]["code"] == "credentials_required"
    assert set(moved.json()["error"]["fields"]) == {"credentials"}


def test_admin_form_asks_for_the_credentials_again(world, vtex, collector, admin_api, alpha_client):
    pk = create_vtex(admin_api, vtex)
    client = alpha_client(world.user("alpha_admin"))
    form = {"account_name": "lojaalpha", "base_url": collector.url, "config": "{}", "sync_frequency": "daily",
            "is_active": "on"}

    refused = client.post(f"/admin/integrations/integration/{pk}/change/", form)

    assert refused.status_code == 200
    errors = refused.context["adminform"].form.errors
    assert "enter them again" in errors["credentials"][0]
    assert admin_api.get(f"{URL}{pk}/").json()["base_url"] == vtex.url

    saved = client.post(f"/admin/integrations/integration/{pk}/change/", {
        **form, "credentials": f'{{"app_key": "{collector.app_key}", "app_token": "{collector.app_token}"}}'})
    assert saved.status_code == 302
    assert admin_api.get(f"{URL}{pk}/").json()["base_url"] == collector.url
