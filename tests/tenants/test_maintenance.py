"""Stored platform settings that act (issue #22 item 8): maintenance mode and the announcement."""

from __future__ import annotations

import json

import pytest

from cdp.context import Actor
from cdp.exceptions import ApplicationError
from tenants.models import SystemConfig
from tenants.selectors import platform_settings_forget
from tenants.services import system_config_create, system_config_update

SYSTEM = Actor.system("tests")


@pytest.fixture(autouse=True)
def _fresh_settings():
    platform_settings_forget()
    yield
    platform_settings_forget()


def maintenance_on(message="Back at 03:00 UTC", minutes=20):
    config = system_config_create(key="maintenance", actor=SYSTEM,
                                  value={"enabled": True, "message": message, "retry_after_minutes": minutes})
    platform_settings_forget()  # the service forgets on commit; tests never commit
    return config


def test_maintenance_answers_503_with_retry_after_to_members_pages_and_api(world, alpha_client, api_key):
    maintenance_on()
    page = alpha_client(world.user("alpha_owner")).get("/")
    assert page.status_code == 503 and page["Retry-After"] == "1200"
    assert "Back at 03:00 UTC" in page.content.decode()
    from tests.conftest import api_client

    api = api_client("alpha.localhost", api_key(world.alpha)).get("/api/v1/customers/")
    assert api.status_code == 503 and api["Retry-After"] == "1200"
    assert api.json()["error"]["code"] == "maintenance"
    # the sign-in page stays open (operators sign in through it), and so does the health check
    assert alpha_client().get("/accounts/login/").status_code == 200
    assert alpha_client().get("/healthz").status_code == 200


def test_operators_still_get_in_during_maintenance(world, public_client, alpha_client):
    maintenance_on()
    assert public_client(world.staff).get("/admin/").status_code == 200
    assert alpha_client(world.staff).get("/").status_code == 200
    assert public_client(world.user("alpha_owner")).get("/admin/").status_code == 503


def test_maintenance_off_lets_everyone_back_in(world, alpha_client):
    config = maintenance_on()
    system_config_update(config=config, actor=SYSTEM, value={"enabled": False})
    platform_settings_forget()
    assert alpha_client(world.user("alpha_viewer")).get("/").status_code == 200


def test_the_announcement_is_a_banner_in_the_readers_language_until_it_ends(world, alpha_client):
    system_config_create(key="announcement", actor=SYSTEM,
                         value={"message": {"en": "New exports on Monday", "es": "Nuevas exportaciones el lunes"}})
    platform_settings_forget()
    client = alpha_client(world.user("alpha_viewer"))
    assert 'class="announcement"' in (html := client.get("/").content.decode()) and "New exports on Monday" in html
    world.user("alpha_viewer").language = "es"
    world.user("alpha_viewer").save(update_fields=["language"])
    assert "Nuevas exportaciones el lunes" in client.get("/").content.decode()
    config = SystemConfig.objects.get(key="announcement")
    system_config_update(config=config, actor=SYSTEM, value={"message": "Old news", "until": "2020-01-01T00:00:00Z"})
    platform_settings_forget()
    assert 'class="announcement"' not in client.get("/").content.decode()


@pytest.mark.parametrize("key,value", [
    ("maintenance", {"enabled": "yes"}),
    ("maintenance", {"enabled": True, "retry_after_minutes": 0}),
    ("maintenance", ["on"]),
    ("announcement", {"message": 5}),
    ("announcement", {"message": "Hi", "until": "tomorrow"}),
])
def test_a_setting_that_acts_is_checked_before_it_is_stored(world, key, value):
    with pytest.raises(ApplicationError) as refused:
        system_config_create(key=key, actor=SYSTEM, value=value)
    assert "value" in refused.value.fields
    assert not SystemConfig.objects.filter(key=key).exists()


def test_the_admin_form_shows_a_bad_value_as_a_field_error(world, public_client):
    response = public_client(world.staff).post("/admin/tenants/systemconfig/add/", {
        "key": "maintenance", "value": json.dumps({"enabled": "soon"}), "description": ""})
    assert response.status_code == 200 and "enabled" in response.content.decode()
    assert not SystemConfig.objects.filter(key="maintenance").exists()
