"""Retention and inactivity (issue #21 item 5): customers inactive for N months are pseudonymized
with a preview and a dry run first and a report after; raw order payloads expire."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from cdp.ops.retention import retention_apply_tenant
from customers.models import Customer, Order
from tenants.models import AuditLog, Tenant
from tests.conftest import api_client, host_client
from tests.customers.factories import CustomerFactory, OrderFactory

LONG_AGO = timezone.now() - datetime.timedelta(days=5 * 365)


@pytest.fixture
def customers(world):
    with tenant_context(world.alpha):
        old_buyer = CustomerFactory(email="old@example.com", last_purchase_at=LONG_AGO)
        never = CustomerFactory(email="never@example.com")
        Customer.objects.filter(pk=never.pk).update(created_at=LONG_AGO)
        recent = CustomerFactory(email="recent@example.com", last_purchase_at=timezone.now())
        new_lead = CustomerFactory(email="lead@example.com")
        return {"old": old_buyer.pk, "never": never.pk, "recent": recent.pk, "lead": new_lead.pk}


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_preview_dry_run_and_run_through_the_api(world, api_key, customers):
    client = api_client("alpha.localhost", api_key(world.alpha))

    preview = client.get("/api/v1/privacy/inactive/", {"months": 24}).json()
    ids = {row["id"] for row in preview["customers"]}
    assert {customers["old"], customers["never"]} <= ids and not ids & {customers["recent"], customers["lead"]}
    dry = post(client, "/api/v1/privacy/inactive/", {"months": 24, "dry_run": True}).json()
    with tenant_context(world.alpha):
        assert not Customer.objects.filter(pk=customers["old"], is_pseudonymized=True).exists()
    run = post(client, "/api/v1/privacy/inactive/", {"months": 24}).json()

    assert dry["candidates"] == run["candidates"] == len(run["pseudonymized"]) >= 2
    with tenant_context(world.alpha):
        assert set(Customer.objects.filter(is_pseudonymized=True).values_list("pk", flat=True)) >= {
            customers["old"], customers["never"]}
        assert not Customer.objects.get(pk=customers["recent"]).is_pseudonymized
        assert not Customer.objects.get(pk=customers["lead"]).is_pseudonymized
        assert Customer.objects.get(pk=customers["old"]).email != "old@example.com"
    assert AuditLog.objects.filter(tenant=world.alpha, action="customers.inactivity_pseudonymize").exists()
    # a second run finds nobody left
    assert post(client, "/api/v1/privacy/inactive/", {"months": 24}).json()["candidates"] == 0


def test_lower_roles_cannot_preview_or_run_and_bad_periods_are_field_errors(world, api_key, customers):
    for role in ("alpha_viewer", "alpha_analyst"):
        client = host_client("alpha.localhost", world.user(role))
        assert client.get("/api/v1/privacy/inactive/", {"months": 24}).status_code == 403
        assert post(client, "/api/v1/privacy/inactive/", {"months": 24}).status_code == 403
    client = api_client("alpha.localhost", api_key(world.alpha))
    # the tenant has no period and none given
    missing = client.get("/api/v1/privacy/inactive/")
    assert missing.status_code == 400 and "months" in missing.json()["error"]["fields"]
    assert client.get("/api/v1/privacy/inactive/", {"months": "soon"}).status_code == 400
    assert post(client, "/api/v1/privacy/inactive/", {"months": 0}).status_code == 400


def test_command_uses_the_tenants_period_and_reports(world, customers, capsys):
    tenant = Tenant.objects.get(pk=world.alpha.pk)
    tenant.settings = {**tenant.settings, "inactivity_months": 24}
    tenant.save(update_fields=["settings"])
    call_command("pseudonymize_inactive", "--tenant", "alpha", "--dry-run")
    assert "would be pseudonymized" in capsys.readouterr().out
    call_command("pseudonymize_inactive", "--tenant", "alpha")
    assert "Pseudonymized" in capsys.readouterr().out
    connection.set_schema_to_public()
    tenant.settings = {key: value for key, value in tenant.settings.items() if key != "inactivity_months"}
    tenant.save(update_fields=["settings"])
    with pytest.raises(CommandError, match="months"):
        call_command("pseudonymize_inactive", "--tenant", "alpha")


def test_raw_order_payloads_expire_and_the_order_stays(world, settings):
    settings.CDP_RAW_PAYLOAD_RETENTION_DAYS = 30
    with tenant_context(world.alpha):
        old = OrderFactory(raw={"buyer": {"email": "x@example.com"}})
        fresh = OrderFactory(raw={"buyer": {"email": "y@example.com"}})
        Order.objects.filter(pk=old.pk).update(updated_at=timezone.now() - datetime.timedelta(days=60))
        report = retention_apply_tenant(tenant=Tenant.objects.get(pk=world.alpha.pk))
        assert report["rows"].get("customers_order:blank", 0) >= 1
        assert Order.objects.get(pk=old.pk).raw is None
        assert Order.objects.get(pk=fresh.pk).raw == {"buyer": {"email": "y@example.com"}}


def test_nightly_task_runs_only_where_the_owners_turned_it_on(world, customers, actor):
    from cdp.exceptions import ApplicationError
    from cdp.schedules import BEAT_SCHEDULE
    from customers.tasks import inactivity_pseudonymize_task
    from tenants.services import tenant_update

    entry = BEAT_SCHEDULE["customers-inactivity-pseudonymize-per-tenant"]
    assert entry["kwargs"]["task_name"] == "customers.tasks.inactivity_pseudonymize_task"
    tenant = Tenant.objects.get(pk=world.alpha.pk)
    # given the default: a period chosen but automatic runs off
    tenant = tenant_update(tenant=tenant, actor=actor, settings={"inactivity_months": 24})
    with tenant_context(tenant):
        assert inactivity_pseudonymize_task() is None
        assert not Customer.objects.filter(is_pseudonymized=True).exists()
    # automatic without a period, or not a boolean, is refused
    for bad in ({"inactivity_auto": "yes"}, {"inactivity_auto": True, "inactivity_months": None}):
        with pytest.raises(ApplicationError) as refused:
            tenant_update(tenant=tenant, actor=actor, settings=bad)
        assert "inactivity_auto" in refused.value.fields["settings"]
    # when the owners turn it on
    tenant = tenant_update(tenant=tenant, actor=actor, settings={"inactivity_auto": True})
    with tenant_context(tenant):
        report = inactivity_pseudonymize_task()
        assert sorted(report["pseudonymized"]) == sorted([customers["old"], customers["never"]])
        assert AuditLog.objects.filter(action="customers.inactivity_pseudonymize",
                                       actor_label="schedule:inactivity-pseudonymize").exists()
