"""Soft delete of integrations and webhook endpoints (issue #22 item 9): gone from lists, the API
and tasks; restorable for 30 days from the portal and the admin; then purged with their history."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context
from safedelete.config import DELETED_VISIBLE

from cdp.exceptions import Conflict, NotFound
from integrations.models import Integration, WebhookDelivery, WebhookEndpoint
from integrations.services import (
    integration_delete,
    integration_restore,
    integrations_purge,
    webhook_delivery_attempt,
    webhook_emit,
    webhook_endpoint_create,
    webhook_endpoint_delete,
)
from integrations.tasks import integration_sync_task
from tenants.models import AuditLog
from tests.conftest import api_client
from tests.integrations.conftest import make_vtex_integration


def deleted_days_ago(model, row, days: int) -> None:
    # django-safedelete updates deleted rows only when asked to see them
    model.all_objects.all(force_visibility=DELETED_VISIBLE).filter(pk=row.pk).update(
        deleted_at=timezone.now() - datetime.timedelta(days=days))


def test_a_deleted_integration_leaves_the_api_and_its_syncs_until_restored_from_the_portal(
        world, vtex, actor, api_key, alpha_client):
    with tenant_context(world.alpha):
        integration = make_vtex_integration(vtex, actor)
    client = api_client("alpha.localhost", api_key(world.alpha, scopes=["read", "write", "integrations"]))
    assert client.delete(f"/api/v1/integrations/{integration.pk}/").status_code == 204
    assert client.get(f"/api/v1/integrations/{integration.pk}/").status_code == 404
    assert integration.pk not in [row["id"] for row in client.get("/api/v1/integrations/").json()["results"]]
    with tenant_context(world.alpha):
        # a sync queued before the deletion does nothing (and does not fail)
        assert integration_sync_task.apply(kwargs={"integration_id": integration.pk}).get() is None
    admin = alpha_client(world.user("alpha_admin"))
    page = admin.get("/integrations/").content.decode()
    assert "Recently deleted" in page and f"/integrations/{integration.pk}/restore/" in page
    assert admin.post(f"/integrations/{integration.pk}/restore/").status_code == 302
    assert client.get(f"/api/v1/integrations/{integration.pk}/").status_code == 200
    actions = set(AuditLog.objects.filter(resource_type="integration", resource_id=str(integration.pk))
                  .values_list("action", flat=True))
    assert {"integration.delete", "integration.restore"} <= actions


def test_the_same_account_can_be_connected_again_and_the_old_one_then_does_not_restore(world, vtex, actor):
    with tenant_context(world.alpha):
        old = make_vtex_integration(vtex, actor)
        integration_delete(integration_id=old.pk, actor=actor)
        make_vtex_integration(vtex, actor)
        with pytest.raises(Conflict):
            integration_restore(integration_id=old.pk, actor=actor)


def test_a_role_without_integrations_cannot_delete_or_restore(world, vtex, actor, alpha_client):
    with tenant_context(world.alpha):
        integration = make_vtex_integration(vtex, actor)
    viewer = alpha_client(world.user("alpha_viewer"))
    assert viewer.post(f"/integrations/{integration.pk}/delete/").status_code == 403
    with tenant_context(world.alpha):
        assert Integration.objects.filter(pk=integration.pk).exists()


def test_a_deleted_endpoint_gets_no_new_events_and_its_pending_deliveries_fail(world, receiver, actor):
    with tenant_context(world.alpha):
        endpoint, _secret = webhook_endpoint_create(url=f"{receiver.url}/hook", events=["customer.created"],
                                                    actor=actor)
        pending = WebhookDelivery.objects.create(endpoint=endpoint, event="customer.created", payload={"id": 1})
        webhook_endpoint_delete(endpoint_id=endpoint.pk, actor=actor)
        assert webhook_emit(event="customer.created", payload={"id": 2}) == []
        assert webhook_delivery_attempt(delivery_id=pending.pk) is None
        pending.refresh_from_db()
        assert pending.status == WebhookDelivery.Status.FAILED and pending.error == "Endpoint deleted."


def test_the_tenant_admin_restores_a_deleted_endpoint(world, receiver, actor, alpha_client):
    with tenant_context(world.alpha):
        endpoint, _secret = webhook_endpoint_create(url=f"{receiver.url}/hook", events=["*"], actor=actor)
        webhook_endpoint_delete(endpoint_id=endpoint.pk, actor=actor)
    owner = alpha_client(world.user("alpha_owner"))
    assert owner.post("/admin/integrations/webhookendpoint/?deleted=yes",
                      {"action": "restore", "_selected_action": [endpoint.pk]}).status_code == 302
    with tenant_context(world.alpha):
        assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_past_the_restore_window_integrations_and_endpoints_are_purged(world, vtex, receiver, actor):
    with tenant_context(world.alpha):
        integration = make_vtex_integration(vtex, actor)
        endpoint, _secret = webhook_endpoint_create(url=f"{receiver.url}/hook", events=["*"], actor=actor)
        integration_delete(integration_id=integration.pk, actor=actor)
        webhook_endpoint_delete(endpoint_id=endpoint.pk, actor=actor)
        deleted_days_ago(Integration, integration, 31)
        deleted_days_ago(WebhookEndpoint, endpoint, 31)
        with pytest.raises(NotFound):
            integration_restore(integration_id=integration.pk, actor=actor)
        assert integrations_purge(actor=actor) == 2
        assert not Integration.all_objects.filter(pk=integration.pk).exists()
        assert not WebhookEndpoint.all_objects.filter(pk=endpoint.pk).exists()
    assert AuditLog.objects.filter(action="integration.purge", resource_id=str(integration.pk)).exists()
    assert AuditLog.objects.filter(action="webhook_endpoint.purge", resource_id=str(endpoint.pk)).exists()
