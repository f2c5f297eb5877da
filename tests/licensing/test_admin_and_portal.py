"""Operators see and act on licensing in the admin; tenants see their usage in the portal."""

from __future__ import annotations

import pytest
from django.urls import reverse as _reverse

from cdp.context import Actor
from licensing import keys
from licensing.models import (
    Asset,
    Collision,
    Download,
    License,
    Machine,
    Plan,
    Product,
    Release,
    UsageLog,
    ValidationLog,
)
from licensing.services import asset_grant, release_download, usage_warnings_check
from tests.licensing.factories import ProductFactory, ReleaseFactory

ACTOR = Actor.system("tests")


def reverse(name, args=None):
    return _reverse(name, args=args, urlconf="cdp.urls.public")
MODELS = [Plan, License, Machine, ValidationLog, Collision, UsageLog, Product, Release, Asset, Download]


@pytest.fixture
def populated(world, issue, validate, flush):
    license = issue(world.alpha, "starter", max_machines=1)
    validate(license.key, fingerprint="m-1")
    validate(license.key, fingerprint="m-2")  # TOO_MANY_MACHINES
    flush()
    product = ProductFactory(code="agent")
    release = ReleaseFactory(product=product, version="1.0.0")
    asset_grant(tenant=world.alpha, product=product, license=license, actor=ACTOR)
    release_download(release_id=release.pk, tenant=world.alpha, actor=ACTOR)
    usage_warnings_check(tenant=world.alpha, license=license, resource="customers", used=9, limit=10)
    Collision.objects.create(license=license, kind="ip", window_started_at=license.created_at, window_minutes=60,
                             distinct_count=4, allowance=3, evidence={"kind": "ip", "values": ["192.0.2.1"]})
    return license


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_admin_changelist_and_change_pages_render(world, public_client, populated, model):
    client = public_client(world.staff)
    meta = model._meta
    response = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    assert response.status_code == 200
    obj = model.objects.first()
    assert obj is not None
    response = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert populated.key_hash not in page and "PRIVATE KEY" not in page


def test_admin_changelist_search_and_filters(world, public_client, populated):
    client = public_client(world.staff)
    url = reverse("admin:licensing_license_changelist")
    assert client.get(url, {"q": populated.key_prefix}).status_code == 200
    assert client.get(url, {"status__exact": "active"}).status_code == 200


def test_admin_issues_a_license_and_shows_the_key_once(world, public_client):
    client = public_client(world.staff)
    response = client.post(reverse("admin:licensing_license_add"), {
        "tenant": world.beta.pk, "plan": Plan.objects.get(code="professional").pk, "status": "active",
        "expires_at_0": "", "expires_at_1": "", "max_machines": "", "custom_limits": "{}",
        "custom_features": "{}", "notes": "",
    })
    # the key is on the page answering the form, once, and kept in no message (cookie or session)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    license = License.objects.get(tenant=world.beta)
    key = response.context["secret"]
    assert key.startswith("CDPL-") and key in response.content.decode()
    assert license.key_hash == keys.key_hash(keys.normalize(key))
    assert not any(key in str(m) for m in response.wsgi_request._messages)
    assert license.max_machines == 10
    # the change page does not show the key again
    change = client.get(reverse("admin:licensing_license_change", args=[license.pk])).content.decode()
    assert key not in change


def test_admin_refusals_stay_on_the_form(world, public_client):
    # given the platform itself as the tenant, then issuing is refused on the form
    client = public_client(world.staff)
    response = client.post(reverse("admin:licensing_license_add"), {
        "tenant": world.public.pk, "plan": Plan.objects.get(code="professional").pk, "status": "active",
        "expires_at_0": "", "expires_at_1": "", "max_machines": "", "custom_limits": "{}",
        "custom_features": "{}", "notes": "",
    })
    assert response.status_code == 200 and response.context["adminform"].form.errors
    assert not License.objects.filter(tenant=world.public).exists()
    # and a release whose version exists already is refused on the form, with what was typed kept
    release = ReleaseFactory(version="2.0.0")
    response = client.post(reverse("admin:licensing_release_add"), {
        "product": release.product.pk, "version": "2.0.0", "status": "stable", "changelog": "again",
        "download_url": "https://downloads.example.com/a.zip", "sha256": "a" * 64})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"version": ["Already released."]}
    assert "again" in response.content.decode()


def test_admin_suspend_and_reinstate_actions_call_the_services(world, public_client, populated, validate):
    client = public_client(world.staff)
    url = reverse("admin:licensing_license_changelist")
    client.post(url, {"action": "suspend", "_selected_action": [populated.pk]})
    populated.refresh_from_db()
    assert populated.status == "suspended"
    assert validate(populated.key, fingerprint="m-1").json()["meta"]["code"] == "SUSPENDED"
    client.post(url, {"action": "reinstate", "_selected_action": [populated.pk]})
    populated.refresh_from_db()
    assert populated.status == "active"


def test_admin_bans_a_machine(world, public_client, populated, validate):
    machine = Machine.objects.get(license=populated)
    public_client(world.staff).post(reverse("admin:licensing_machine_changelist"),
                                    {"action": "ban", "_selected_action": [machine.pk]})
    assert validate(populated.key, fingerprint="m-1").json()["meta"]["code"] == "BANNED"


def test_admin_is_for_staff_only(world, public_client):
    response = public_client(world.user("alpha_owner")).get(reverse("admin:licensing_license_changelist"))
    assert response.status_code == 302


def test_portal_license_page_shows_usage_and_warnings(world, alpha_client, populated):
    response = alpha_client(world.user("alpha_viewer")).get("/license/")
    assert response.status_code == 200
    page = response.content.decode()
    assert populated.key_prefix in page and "Starter" in page
    assert 'data-resource="customers"' in page and "data-usage-warning" in page
    assert "m-1" in page and "1.0.0" in page
    assert populated.key_hash not in page
    # and the nav links to it
    dashboard = alpha_client(world.user("alpha_viewer")).get("/").content.decode()
    assert 'href="/license/"' in dashboard


def test_portal_license_page_of_another_tenant_shows_its_own(world, beta_client, populated):
    page = beta_client(world.user("beta_owner")).get("/license/").content.decode()
    assert populated.key_prefix not in page
    assert "No plan yet" in page and "data-no-plan" in page


def test_portal_license_page_needs_membership(world, beta_client, populated):
    assert beta_client(world.user("alpha_owner")).get("/license/").status_code == 403
    assert beta_client().get("/license/").status_code == 302


def test_portal_download(world, alpha_client, populated):
    release = Release.objects.get(version="1.0.0")
    response = alpha_client(world.user("alpha_analyst")).get(f"/license/releases/{release.pk}/download/")
    assert response.status_code == 302 and response["Location"] == release.download_url
    assert Download.objects.filter(release=release, actor_label="analyst@alpha.test").exists()
