"""Soft delete of segments (issue #22 item 9): gone from lists, API and runs; restorable for 30
days from the portal and the admin; then purged by the daily task."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from safedelete.config import DELETED_VISIBLE

from analytics.models import Segment
from analytics.services import segment_create, segment_delete, segment_restore, segments_materialize, segments_purge
from cdp.exceptions import Conflict, NotFound
from tenants.models import AuditLog
from tests.conftest import api_client

RULES = {"op": "and", "rules": [{"field": "total_orders", "operator": "gte", "value": 1}]}


def deleted_days_ago(segment, days: int) -> None:
    # django-safedelete updates deleted rows only when asked to see them
    Segment.all_objects.all(force_visibility=DELETED_VISIBLE).filter(pk=segment.pk).update(
        deleted_at=timezone.now() - datetime.timedelta(days=days))


def test_a_deleted_segment_leaves_the_api_the_portal_and_the_runs_until_restored(world, api_key, alpha_client, actor):
    with tenant_context(world.alpha):
        segment = segment_create(name="Buyers", rules=RULES, actor=actor, tenant=world.alpha)
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write", "analytics"]))
    # when deleted through the API
    assert client.delete(f"/api/v1/analytics/segments/{segment.pk}/").status_code == 204
    # then it is gone from the API, the portal list and the nightly run, and audited
    assert client.get(f"/api/v1/analytics/segments/{segment.pk}/").status_code == 404
    assert segment.pk not in [row["id"] for row in client.get("/api/v1/analytics/segments/").json()["results"]]
    with tenant_context(world.alpha):
        assert "Buyers" not in segments_materialize(tenant=world.alpha, as_of=timezone.localdate())["segments"]
        assert Segment.deleted_objects.filter(pk=segment.pk).exists()
    admin = alpha_client(world.user("alpha_admin"))
    page = admin.get("/analytics/segments/").content.decode()
    assert "Recently deleted" in page and f"/analytics/segments/{segment.pk}/restore/" in page
    assert AuditLog.objects.filter(action="analytics.segment.delete", resource_id=str(segment.pk)).exists()
    # when restored from the portal
    assert admin.post(f"/analytics/segments/{segment.pk}/restore/").status_code == 302
    assert client.get(f"/api/v1/analytics/segments/{segment.pk}/").status_code == 200
    assert AuditLog.objects.filter(action="analytics.segment.restore", resource_id=str(segment.pk)).exists()


def test_a_deleted_name_can_be_reused_and_restoring_the_old_one_then_conflicts(world, actor):
    with tenant_context(world.alpha):
        old = segment_create(name="VIP", rules=RULES, actor=actor, tenant=world.alpha)
        segment_delete(segment_id=old.pk, actor=actor, tenant=world.alpha)
        segment_create(name="VIP", rules=RULES, actor=actor, tenant=world.alpha)
        with pytest.raises(Conflict):
            segment_restore(segment_id=old.pk, actor=actor, tenant=world.alpha)


def test_after_the_restore_window_a_segment_is_purged_and_can_no_longer_be_restored(world, actor):
    with tenant_context(world.alpha):
        recent = segment_create(name="Recent", rules=RULES, actor=actor, tenant=world.alpha)
        old = segment_create(name="Old", rules=RULES, actor=actor, tenant=world.alpha)
        for segment in (recent, old):
            segment_delete(segment_id=segment.pk, actor=actor, tenant=world.alpha)
        deleted_days_ago(recent, 29)
        deleted_days_ago(old, 31)
        with pytest.raises(NotFound):
            segment_restore(segment_id=old.pk, actor=actor, tenant=world.alpha)
        assert segments_purge(actor=actor, tenant=world.alpha) == 1
        assert not Segment.all_objects.filter(pk=old.pk).exists()
        assert Segment.deleted_objects.filter(pk=recent.pk).exists()
    assert AuditLog.objects.filter(action="analytics.segment.purge", resource_id=str(old.pk)).exists()


@pytest.mark.parametrize("role", ["viewer"])
def test_a_role_without_analytics_cannot_delete_or_restore(world, alpha_client, actor, role):
    with tenant_context(world.alpha):
        segment = segment_create(name="Kept", rules=RULES, actor=actor, tenant=world.alpha)
    client = alpha_client(world.user(f"alpha_{role}"))
    assert client.post(f"/analytics/segments/{segment.pk}/delete/").status_code == 403
    with tenant_context(world.alpha):
        assert Segment.objects.filter(pk=segment.pk).exists()
        segment_delete(segment_id=segment.pk, actor=actor, tenant=world.alpha)
    assert client.post(f"/analytics/segments/{segment.pk}/restore/").status_code == 403
    with tenant_context(world.alpha):
        assert not Segment.objects.filter(pk=segment.pk).exists()


def test_the_tenant_admin_lists_deleted_segments_and_restores_them(world, alpha_client, actor):
    with tenant_context(world.alpha):
        segment = segment_create(name="Admin restore", rules=RULES, actor=actor, tenant=world.alpha)
        segment_delete(segment_id=segment.pk, actor=actor, tenant=world.alpha)
    admin = alpha_client(world.user("alpha_owner"))
    assert "Admin restore" not in admin.get("/admin/analytics/segment/").content.decode()
    assert "Admin restore" in admin.get("/admin/analytics/segment/?deleted=yes").content.decode()
    response = admin.post("/admin/analytics/segment/?deleted=yes",
                          {"action": "restore", "_selected_action": [segment.pk]})
    assert response.status_code == 302
    with tenant_context(world.alpha):
        assert Segment.objects.filter(pk=segment.pk).exists()
