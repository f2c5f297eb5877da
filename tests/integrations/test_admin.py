"""Integrations in the tenant's admin: logs, spend and deliveries are read-only (not even owners
delete them); integrations and endpoints are deleted by the services (audited, refused while a
sync runs); per-row actions report each row."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from integrations.models import AdSpendDaily, Integration, SyncLog, WebhookDelivery
from tenants.models import AuditLog
from tests.integrations.factories import (
    AdSpendDailyFactory,
    IntegrationFactory,
    SyncLogFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)

ADMIN = "/admin/integrations"


@pytest.fixture
def owner(world, alpha_client):
    return alpha_client(world.user("alpha_owner"))


@pytest.mark.parametrize("model, factory", [(SyncLog, SyncLogFactory), (WebhookDelivery, WebhookDeliveryFactory),
                                            (AdSpendDaily, AdSpendDailyFactory)])
def test_records_written_by_services_cannot_be_deleted_in_the_admin(world, owner, model, factory):
    with tenant_context(world.alpha):
        row = factory()
    path = f"{ADMIN}/{model._meta.model_name}"
    assert owner.get(f"{path}/").status_code == 200
    assert owner.get(f"{path}/{row.pk}/delete/").status_code == 403
    owner.post(f"{path}/", {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"})
    with tenant_context(world.alpha):
        assert model.objects.filter(pk=row.pk).exists()


def test_an_integration_whose_sync_runs_is_not_deleted_and_the_page_says_why(world, owner):
    with tenant_context(world.alpha):
        running = IntegrationFactory(state=Integration.State.RUNNING,
                                     lease_expires_at=timezone.now() + datetime.timedelta(minutes=10))
    answer = owner.post(f"{ADMIN}/integration/{running.pk}/delete/", {"post": "yes"}, follow=True)
    assert answer.status_code == 200
    assert "A sync is running" in answer.content.decode()
    with tenant_context(world.alpha):
        assert Integration.objects.filter(pk=running.pk).exists()
    assert not AuditLog.objects.filter(action="integration.delete").exists()


def test_selected_integrations_are_deleted_by_the_service_all_or_none(world, owner):
    with tenant_context(world.alpha):
        idle = [IntegrationFactory().pk, IntegrationFactory().pk]
        running = IntegrationFactory(state=Integration.State.RUNNING,
                                     lease_expires_at=timezone.now() + datetime.timedelta(minutes=10)).pk
    refused = owner.post(f"{ADMIN}/integration/", {"action": "delete_selected", "_selected_action": [*idle, running],
                                                   "post": "yes"}, follow=True)
    assert "Nothing was deleted" in refused.content.decode()
    with tenant_context(world.alpha):
        assert Integration.objects.filter(pk__in=[*idle, running]).count() == 3

    owner.post(f"{ADMIN}/integration/", {"action": "delete_selected", "_selected_action": idle, "post": "yes"})
    with tenant_context(world.alpha):
        assert not Integration.objects.filter(pk__in=idle).exists()
    assert AuditLog.objects.filter(action="integration.delete", tenant=world.alpha).count() == 2


def test_sync_now_reports_each_refused_row_and_counts_the_others(world, owner, django_capture_on_commit_callbacks):
    with tenant_context(world.alpha):
        inactive = IntegrationFactory(is_active=False)
    answer = owner.post(f"{ADMIN}/integration/", {"action": "sync_now", "_selected_action": [inactive.pk]},
                        follow=True)
    assert answer.status_code == 200
    assert f"{inactive}: This integration is inactive." in answer.content.decode()


def test_ping_is_queued_for_each_selected_endpoint(world, owner):
    with tenant_context(world.alpha):
        endpoints = [WebhookEndpointFactory().pk, WebhookEndpointFactory().pk]
    answer = owner.post(f"{ADMIN}/webhookendpoint/", {"action": "ping", "_selected_action": endpoints}, follow=True)
    assert "2 ping(s) queued" in answer.content.decode()
    with tenant_context(world.alpha):
        assert WebhookDelivery.objects.filter(event="webhook.ping").count() == 2
