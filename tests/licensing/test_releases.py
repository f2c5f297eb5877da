"""Releases of owned products and licensed downloads (tenant host)."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict
from licensing.models import Download, Release
from licensing.services import (
    asset_grant,
    asset_revoke,
    license_suspend,
    release_create,
    release_update,
)
from tenants.models import AuditLog
from tests.conftest import api_client
from tests.licensing.factories import ProductFactory, ReleaseFactory

ACTOR = Actor.system("tests")


@pytest.fixture
def catalog(world):
    product = ProductFactory(code="cdp-agent", name="CDP Agent")
    other = ProductFactory(code="pos-bridge", name="POS Bridge")
    releases = {
        "stable": ReleaseFactory(product=product, version="1.2.0", status="stable"),
        "critical": ReleaseFactory(product=product, version="1.2.1", status="stable", is_critical=True),
        "beta": ReleaseFactory(product=product, version="2.0.0-beta.1", status="beta"),
        "draft": ReleaseFactory(product=product, version="2.0.0", status="draft"),
        "deprecated": ReleaseFactory(product=product, version="0.9.0", status="deprecated"),
        "other": ReleaseFactory(product=other, version="1.0.0", status="stable"),
    }
    asset_grant(tenant=world.alpha, product=product, actor=ACTOR)
    asset_grant(tenant=world.beta, product=other, actor=ACTOR)
    return releases


def versions(response):
    return [row["version"] for row in response.json()["results"]]


def test_release_list_shows_owned_products_without_drafts_newest_first(world, issue, api_key, catalog):
    issue(world.alpha, "starter")  # no beta_releases feature
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))
    response = client.get("/api/v1/releases/")
    assert response.status_code == 200
    assert versions(response) == ["1.2.1", "1.2.0", "0.9.0"]
    row = response.json()["results"][0]
    assert row["is_critical"] is True and len(row["sha256"]) == 64 and row["product"] == "cdp-agent"


def test_betas_need_the_beta_releases_feature(world, issue, api_key, catalog):
    issue(world.alpha, "professional")
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))
    assert versions(client.get("/api/v1/releases/")) == ["2.0.0-beta.1", "1.2.1", "1.2.0", "0.9.0"]
    assert versions(client.get("/api/v1/releases/?status=beta")) == ["2.0.0-beta.1"]


def test_licensed_download_redirects_logs_and_counts(world, issue, api_key, catalog):
    license = issue(world.alpha)
    release = catalog["stable"]
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))
    response = client.get(f"/api/v1/releases/{release.pk}/download/")
    assert response.status_code == 302 and response["Location"] == release.download_url
    assert response["X-Checksum-SHA256"] == release.sha256
    download = Download.objects.get(release=release)
    assert download.tenant == world.alpha and download.license == license
    assert download.actor_label.startswith("api-key:")
    release.refresh_from_db()
    assert release.download_count == 1
    assert AuditLog.objects.filter(action="release.download", tenant=world.alpha).exists()


def test_download_streams_an_uploaded_file_with_its_checksum(world, issue, api_key):
    issue(world.alpha)
    product = ProductFactory(code="desktop-app")
    content = b"binary release content"
    release = release_create(product=product, version="3.1.4", status="stable", actor=ACTOR,
                             artifact=SimpleUploadedFile("desktop-3.1.4.zip", content))
    assert release.sha256 == hashlib.sha256(content).hexdigest() and release.size_bytes == len(content)
    asset_grant(tenant=world.alpha, product=product, actor=ACTOR)
    response = api_client("alpha.localhost", api_key(world.alpha)).get(f"/api/v1/releases/{release.pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["X-Checksum-SHA256"] == release.sha256


def test_download_needs_a_valid_license(world, issue, api_key, catalog):
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))
    url = f"/api/v1/releases/{catalog['stable'].pk}/download/"
    # no license at all
    response = client.get(url)
    assert response.status_code == 403 and response.json()["error"]["code"] == "license_required"
    # a suspended license
    license = issue(world.alpha)
    license_suspend(license=license, actor=ACTOR)
    assert client.get(url).json()["error"]["code"] == "license_required"
    assert not Download.objects.exists()


def test_other_tenants_products_drafts_and_revoked_ownership_are_not_found(world, issue, api_key, catalog):
    issue(world.alpha)
    issue(world.beta)
    alpha = api_client("alpha.localhost", api_key(world.alpha, scopes=["read"]))
    beta = api_client("beta.localhost", api_key(world.beta, scopes=["read"]))
    # beta does not own cdp-agent: it neither sees nor downloads it
    assert versions(beta.get("/api/v1/releases/")) == ["1.0.0"]
    assert beta.get(f"/api/v1/releases/{catalog['stable'].pk}/").status_code == 404
    assert beta.get(f"/api/v1/releases/{catalog['stable'].pk}/download/").status_code == 404
    # drafts are invisible to owners too
    assert alpha.get(f"/api/v1/releases/{catalog['draft'].pk}/download/").status_code == 404
    # revoking ownership closes downloads
    asset = world.alpha.assets.get(product__code="cdp-agent")
    asset_revoke(asset=asset, actor=ACTOR)
    assert alpha.get(f"/api/v1/releases/{catalog['stable'].pk}/download/").status_code == 404


def test_license_summary_api_shows_only_the_callers_license(world, issue, api_key):
    alpha_license = issue(world.alpha, "enterprise")
    beta_license = issue(world.beta, "starter")
    body = api_client("beta.localhost", api_key(world.beta, scopes=["read"])).get("/api/v1/license/")
    assert body.status_code == 200
    data = body.json()
    assert data["license"]["key_prefix"] == beta_license.key_prefix and data["license"]["plan"] == "starter"
    assert alpha_license.key_prefix not in body.content.decode()
    assert "key_hash" not in body.content.decode()
    assert {row["resource"] for row in data["usage"]} >= {"customers", "users", "api_calls_per_month"}


def test_release_rules(world):
    product = ProductFactory(code="rules")
    with pytest.raises(ApplicationError) as excinfo:
        release_create(product=product, version="1.0", download_url="https://x.example/a", sha256="a" * 64,
                       actor=ACTOR)
    assert "version" in excinfo.value.fields
    with pytest.raises(ApplicationError) as excinfo:
        release_create(product=product, version="1.0.0", actor=ACTOR)
    assert "artifact" in excinfo.value.fields or "sha256" in excinfo.value.fields
    release = release_create(product=product, version="1.0.0", download_url="https://x.example/a",
                             sha256="b" * 64, actor=ACTOR)
    assert release.status == Release.Status.DRAFT and release.published_at is None
    with pytest.raises(Conflict):
        release_create(product=product, version="1.0.0", download_url="https://x.example/a", sha256="b" * 64,
                       actor=ACTOR)
    with pytest.raises(ApplicationError):
        release_create(product=product, version="1.0.1", actor=ACTOR,
                       artifact=SimpleUploadedFile("a.zip", b"abc"), sha256="c" * 64)
    published = release_update(release=release, actor=ACTOR, status="stable")
    assert published.published_at is not None
    assert (published.major, published.minor, published.patch) == (1, 0, 0)
