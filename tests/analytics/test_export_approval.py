"""Export approval (issue #21 item 4): a segment export above the tenant's threshold needs a second
person's approval; request, decision and download are audited; downloads expire; only the
requester downloads; an unapproved export cannot be downloaded."""

from __future__ import annotations

import datetime
import json

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from analytics.models import ExportRequest
from analytics.services import segment_create
from cdp.context import Actor
from customers.models import DataAccessLog
from tenants.models import AuditLog
from tests.conftest import api_client, host_client
from tests.customers.factories import CustomerFactory


@pytest.fixture
def segment(world, settings):
    settings.ANALYTICS_EXPORT_APPROVAL_ROWS = 2
    with tenant_context(world.alpha):
        for n in range(3):
            CustomerFactory(country="UY", email=f"uy{n}@example.com")
        return segment_create(name="Uruguay", rules={"op": "and", "rules": [
            {"field": "country", "operator": "eq", "value": "UY"}]}, actor=Actor.system("tests"), tenant=world.alpha)


def post(client, url, body=None):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


def csv_of(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_a_large_export_needs_a_second_persons_approval_then_downloads_until_expiry(world, alpha_client, segment):
    owner = host_client("alpha.localhost", world.user("alpha_owner"))
    admin = host_client("alpha.localhost", world.user("alpha_admin"))

    # the direct export is refused above the threshold (API and portal)
    direct = owner.get(f"/api/v1/analytics/segments/{segment.pk}/export.csv")
    assert direct.status_code == 403 and direct.json()["error"]["code"] == "export_approval_required"
    assert alpha_client(world.user("alpha_owner")).get(f"/analytics/segments/{segment.pk}/export.csv").status_code == 403

    created = post(owner, "/api/v1/analytics/exports/", {"segment": segment.pk, "reason": "campaign"})
    assert created.status_code == 201 and created.json()["rows"] == 3 and created.json()["status"] == "pending"
    export_id = created.json()["id"]
    # not yet approved: no download
    pending = owner.get(f"/api/v1/analytics/exports/{export_id}/download/")
    assert pending.status_code == 403 and pending.json()["error"]["code"] == "export_not_approved"
    # nobody approves their own request
    own = post(owner, f"/api/v1/analytics/exports/{export_id}/approve/")
    assert own.status_code == 403 and own.json()["error"]["code"] == "export_self_approval"

    approved = post(admin, f"/api/v1/analytics/exports/{export_id}/approve/", {"note": "ok"})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert post(admin, f"/api/v1/analytics/exports/{export_id}/approve/").status_code == 409
    # only the requester downloads
    assert admin.get(f"/api/v1/analytics/exports/{export_id}/download/").status_code == 403
    download = owner.get(f"/api/v1/analytics/exports/{export_id}/download/")
    assert download.status_code == 200 and "uy0@example.com" in csv_of(download)

    actions = set(AuditLog.objects.filter(tenant=world.alpha, resource_type="export_request",
                                          resource_id=str(export_id)).values_list("action", flat=True))
    assert actions == {"analytics.export.request", "analytics.export.approve", "analytics.export.download"}
    with tenant_context(world.alpha):
        assert DataAccessLog.objects.filter(action="export", resource_id=str(segment.pk), rows=3).exists()
        ExportRequest.objects.filter(pk=export_id).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    expired = owner.get(f"/api/v1/analytics/exports/{export_id}/download/")
    assert expired.status_code == 403 and expired.json()["error"]["code"] == "export_expired"


def test_small_exports_need_no_approval(world, segment, settings):
    settings.ANALYTICS_EXPORT_APPROVAL_ROWS = 10
    owner = host_client("alpha.localhost", world.user("alpha_owner"))
    assert owner.get(f"/api/v1/analytics/segments/{segment.pk}/export.csv").status_code == 200


def test_lower_roles_and_keys_cannot_request_approve_or_download(world, segment, api_key):
    owner = host_client("alpha.localhost", world.user("alpha_owner"))
    export_id = post(owner, "/api/v1/analytics/exports/", {"segment": segment.pk}).json()["id"]
    key = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "export"]))
    for role in ("alpha_viewer", "alpha_analyst"):
        client = host_client("alpha.localhost", world.user(role))
        assert post(client, "/api/v1/analytics/exports/", {"segment": segment.pk}).status_code == 403
        assert post(client, f"/api/v1/analytics/exports/{export_id}/approve/").status_code == 403
        assert client.get(f"/api/v1/analytics/exports/{export_id}/download/").status_code == 403
    # a key is not a second person
    refused = post(key, f"/api/v1/analytics/exports/{export_id}/approve/")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "export_self_approval"
    # bad input
    bad = post(owner, "/api/v1/analytics/exports/", {"segment": "x"})
    assert bad.status_code == 400 and "segment" in bad.json()["error"]["fields"]
    assert post(owner, "/api/v1/analytics/exports/", {"segment": 999999}).status_code == 404


def test_rejected_exports_cannot_be_downloaded(world, segment):
    owner = host_client("alpha.localhost", world.user("alpha_owner"))
    admin = host_client("alpha.localhost", world.user("alpha_admin"))
    export_id = post(owner, "/api/v1/analytics/exports/", {"segment": segment.pk}).json()["id"]
    assert post(admin, f"/api/v1/analytics/exports/{export_id}/reject/", {"note": "no"}).json()["status"] == "rejected"
    assert owner.get(f"/api/v1/analytics/exports/{export_id}/download/").status_code == 403
