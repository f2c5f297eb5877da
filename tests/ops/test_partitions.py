"""Monthly partitions and retention (issue #19 item 2): old months go whole, nothing current is
touched, and the ORM keeps working on the converted tables."""

from __future__ import annotations

import datetime
import re
import uuid

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from cdp.ops import partitions
from cdp.ops.retention import retention_apply_public, retention_apply_tenant

TODAY = timezone.now().date()
THIS_MONTH = partitions.month_start(TODAY)


def _relkind(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
    return row[0] if row else ""


def _settle():
    """Rows written by this test fire their deferred foreign-key checks now: PostgreSQL refuses to
    drop a table with pending trigger events, which only a test (writing and pruning in one
    transaction) can have."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _at(model, pk, **values):
    """Move a row in time (its partition changes with it: PostgreSQL moves the row)."""
    model.objects.filter(pk=pk).update(**values)


@pytest.fixture
def alpha(world):
    with tenant_context(world.alpha):
        yield world.alpha


@pytest.fixture
def integration(alpha):
    from integrations.models import Integration

    return Integration.objects.create(integration_type="vtex", account_name=f"store-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def endpoint(alpha):
    from integrations.models import WebhookEndpoint

    return WebhookEndpoint.objects.create(url="https://hooks.example.com/x", events=["*"], secret_encrypted="x")


def test_every_registered_table_is_partitioned_by_month_ahead(world):
    entries = partitions.registry()
    assert {e.table for e in entries} >= {"tenants_auditlog", "licensing_validationlog", "integrations_synclog",
                                          "integrations_webhookdelivery", "analytics_rfmsnapshot"}
    for entry in entries:
        with tenant_context(world.alpha if entry.schema == "tenant" else world.public):
            assert _relkind(entry.table) == "p", entry.table
            months = {month for _name, month in partitions.partitions_of(entry.table)}
            assert None in months, f"{entry.table} has no default partition"
            for ahead in range(partitions.MONTHS_AHEAD + 1):
                assert partitions.month_add(THIS_MONTH, ahead) in months, (entry.table, ahead)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'p' "
                               "AND conrelid = to_regclass(%s)", [entry.table])
                assert cursor.fetchone()[0] == f"PRIMARY KEY (id, {entry.column})"


def test_the_orm_reads_writes_and_deletes_partitioned_rows(alpha, integration, endpoint):
    from integrations.models import Integration, SyncLog, WebhookDelivery

    log = SyncLog.objects.create(integration=integration)
    log.status = SyncLog.Status.SUCCESS
    log.save()
    Integration.objects.filter(pk=integration.pk).update(lease_log=log)
    assert Integration.objects.get(pk=integration.pk).lease_log == log
    original = WebhookDelivery.objects.create(endpoint=endpoint, event="order.ingested", payload={"a": 1})
    again = WebhookDelivery.objects.create(endpoint=endpoint, event="order.ingested", payload={"a": 1},
                                           redelivery_of=original, event_id=original.event_id)
    assert WebhookDelivery.objects.get(pk=again.pk).redelivery_of == original
    original.delete()  # SET_NULL is Django's, not the database's
    assert WebhookDelivery.objects.get(pk=again.pk).redelivery_of_id is None
    assert SyncLog.objects.get(pk=log.pk).status == "success"
    new = SyncLog.objects.create(integration=integration)
    assert new.pk > log.pk  # one sequence for every partition


def test_tenant_retention_drops_expired_months_and_keeps_current_rows(alpha, integration, endpoint):
    from integrations.models import SyncLog, WebhookDelivery
    from tenants.models import Tenant

    # given months three and one years back exist (as they would have when they were current)
    old_month = partitions.month_add(THIS_MONTH, -36)
    recent_month = partitions.month_add(THIS_MONTH, -6)
    for month in (old_month, recent_month):
        partitions.partitions_ensure(schema="tenant", today=month, months_ahead=0)
    old = SyncLog.objects.create(integration=integration)
    recent = SyncLog.objects.create(integration=integration)
    current = SyncLog.objects.create(integration=integration)
    _at(SyncLog, old.pk, started_at=timezone.make_aware(datetime.datetime.combine(old_month, datetime.time(12))))
    _at(SyncLog, recent.pk, started_at=timezone.make_aware(datetime.datetime.combine(recent_month, datetime.time(12))))
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event="x", payload={"a": 1})
    _at(WebhookDelivery, delivery.pk, created_at=timezone.make_aware(datetime.datetime.combine(old_month, datetime.time())))
    # and a tenant keeping one year
    tenant = Tenant.objects.get(pk=alpha.pk)
    tenant.settings = {**tenant.settings, "data_retention_days": 365}
    # when
    _settle()
    report = retention_apply_tenant(tenant=tenant)
    # then the month three years back is gone whole, the recent and current ones are untouched
    assert partitions.partition_name("integrations_synclog", old_month) in report["dropped"]
    assert partitions.partition_name("integrations_webhookdelivery", old_month) in report["dropped"]
    assert not any(recent_month.strftime("%Y_%m") in name or THIS_MONTH.strftime("%Y_%m") in name
                   for name in report["dropped"])
    assert set(SyncLog.objects.values_list("pk", flat=True)) >= {recent.pk, current.pk}
    assert not SyncLog.objects.filter(pk=old.pk).exists()
    assert not WebhookDelivery.objects.filter(pk=delivery.pk).exists()
    months = {month for _name, month in partitions.partitions_of("integrations_synclog")}
    assert old_month not in months and recent_month in months and THIS_MONTH in months


def test_rfm_snapshots_keep_twelve_months_even_for_a_longer_tenant_retention(alpha):
    from analytics.models import RfmSnapshot
    from customers.models import Customer

    customer = Customer.objects.create(email=f"{uuid.uuid4().hex[:8]}@example.com")
    fields = dict(recency_days=1, frequency=1, monetary=1, r_score=1, f_score=1, m_score=1, rfm_score="111")
    # given a snapshot dated before any partition: it lands in the default partition
    ancient = datetime.date(2001, 3, 15)
    RfmSnapshot.objects.create(customer=customer, as_of=ancient, **fields)
    month_13 = partitions.month_add(THIS_MONTH, -13)
    partitions.partitions_ensure(schema="tenant", today=month_13, months_ahead=0)
    RfmSnapshot.objects.create(customer=customer, as_of=month_13, **fields)
    RfmSnapshot.objects.create(customer=customer, as_of=partitions.month_add(THIS_MONTH, -11), **fields)
    RfmSnapshot.objects.create(customer=customer, as_of=TODAY, **fields)
    # when creating the ancient month moves its row out of the default partition
    assert partitions.partitions_ensure(schema="tenant", today=ancient, months_ahead=0) == [
        partitions.partition_name(t, datetime.date(2001, 3, 1))
        # every tenant table registered (analytics_rfmsnapshot, customers_dataaccesslog, integrations_*)
        for t in sorted(entry.table for entry in partitions.registry() if entry.schema == "tenant")]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM analytics_rfmsnapshot_p2001_03")
        assert cursor.fetchone()[0] == 1
    # then retention (tenant keeps 7 years) still keeps snapshots 12 months only
    _settle()
    retention_apply_tenant(tenant=alpha)
    kept = set(RfmSnapshot.objects.filter(customer=customer).values_list("as_of", flat=True))
    assert kept == {partitions.month_add(THIS_MONTH, -11), TODAY}


def test_public_audit_months_go_only_past_every_tenants_retention(world, settings):
    from tenants.models import AuditLog

    settings.CDP_PLATFORM_AUDIT_RETENTION_DAYS = 30
    longest = max(int(t.setting("data_retention_days")) for t in type(world.alpha).objects.all())
    expired_month = partitions.month_add(partitions.month_start(TODAY - datetime.timedelta(days=longest)), -2)
    kept_month = partitions.month_add(partitions.month_start(TODAY - datetime.timedelta(days=longest)), 1)
    for month in (expired_month, kept_month):
        partitions.partitions_ensure(schema="public", today=month, months_ahead=0)
    rows = {}
    for month in (expired_month, kept_month):
        entry = AuditLog.objects.create(tenant=world.alpha, actor_label="system", action="x", resource_type="y")
        _at(AuditLog, entry.pk, created_at=timezone.make_aware(datetime.datetime.combine(month, datetime.time(1))))
        rows[month] = entry.pk
    current = AuditLog.objects.create(tenant=world.beta, actor_label="system", action="x", resource_type="y")
    _settle()
    report = retention_apply_public()
    assert partitions.partition_name("tenants_auditlog", expired_month) in report["dropped"]
    assert not AuditLog.objects.filter(pk=rows[expired_month]).exists()
    assert AuditLog.objects.filter(pk__in=[rows[kept_month], current.pk]).count() == 2


def test_raw_payloads_and_delivery_bodies_expire_before_their_rows(alpha, integration, endpoint, settings):
    from integrations.models import VtexOrder, WebhookDelivery

    settings.CDP_RAW_PAYLOAD_RETENTION_DAYS = 90
    settings.CDP_DELIVERY_BODY_RETENTION_DAYS = 30
    old_raw = VtexOrder.objects.create(integration=integration, order_id="old", payload={"email": "a@b.c"})
    new_raw = VtexOrder.objects.create(integration=integration, order_id="new", payload={"email": "a@b.c"})
    _at(VtexOrder, old_raw.pk, fetched_at=timezone.now() - datetime.timedelta(days=91))
    sent = WebhookDelivery.objects.create(endpoint=endpoint, event="x", payload={"email": "a@b.c"},
                                          status="success", response_body="ok a@b.c")
    waiting = WebhookDelivery.objects.create(endpoint=endpoint, event="x", payload={"email": "a@b.c"},
                                             status="retrying")
    fresh = WebhookDelivery.objects.create(endpoint=endpoint, event="x", payload={"email": "a@b.c"}, status="success")
    for delivery in (sent, waiting):
        _at(WebhookDelivery, delivery.pk, created_at=timezone.now() - datetime.timedelta(days=31))
    _settle()
    retention_apply_tenant(tenant=alpha)
    assert list(VtexOrder.objects.filter(integration=integration).values_list("pk", flat=True)) == [new_raw.pk]
    sent.refresh_from_db()
    assert (sent.payload, sent.response_body, sent.status) == ({}, "", "success")
    assert WebhookDelivery.objects.get(pk=waiting.pk).payload == {"email": "a@b.c"}  # still to be sent
    assert WebhookDelivery.objects.get(pk=fresh.pk).payload == {"email": "a@b.c"}


def test_conversion_is_reversible_and_keeps_rows_and_ids(alpha, integration):
    from integrations.models import SyncLog

    first = SyncLog.objects.create(integration=integration)
    _settle()
    partitions.partition_revert(table="integrations_synclog", column="started_at")
    assert _relkind("integrations_synclog") == "r"
    second = SyncLog.objects.create(integration=integration)
    _settle()
    partitions.partition_convert(table="integrations_synclog", column="started_at")
    assert _relkind("integrations_synclog") == "p"
    third = SyncLog.objects.create(integration=integration)
    assert first.pk < second.pk < third.pk
    assert SyncLog.objects.filter(pk__in=[first.pk, second.pk, third.pk]).count() == 3


def test_a_foreign_key_into_a_table_blocks_its_conversion(alpha):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE ops_probe (id bigint PRIMARY KEY, at timestamptz NOT NULL)")
        cursor.execute("CREATE TABLE ops_probe_ref (probe_id bigint REFERENCES ops_probe (id))")
    with pytest.raises(RuntimeError, match="db_constraint=False"):
        partitions.partition_convert(table="ops_probe", column="at")


def test_beat_runs_retention_for_public_and_every_tenant():
    from cdp.schedules import BEAT_SCHEDULE

    assert BEAT_SCHEDULE["ops-retention-public"]["task"] == "cdp.ops.tasks.retention_public_task"
    fan_out = BEAT_SCHEDULE["ops-retention-per-tenant"]
    assert fan_out["kwargs"]["task_name"] == "cdp.ops.tasks.retention_tenant_task"
    assert all("expires" in entry["options"] for entry in BEAT_SCHEDULE.values())


def test_hot_tables_carry_their_autovacuum_settings_and_extended_statistics(alpha):
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reloptions FROM pg_class WHERE oid IN "
                       "('customers_customer'::regclass, 'customers_order'::regclass)")
        options = {name: set(opts or []) for name, opts in cursor.fetchall()}
        cursor.execute("SELECT stxname FROM pg_statistic_ext WHERE stxnamespace = 'alpha'::regnamespace")
        statistics = {row[0] for row in cursor.fetchall()}
    assert "autovacuum_vacuum_scale_factor=0.05" in options["customers_customer"]
    assert "autovacuum_analyze_scale_factor=0.02" in options["customers_order"]
    assert {"customers_order_source_status_stats", "customers_customer_country_type_status_stats"} <= statistics


def test_new_audit_months_inherit_the_autovacuum_settings(world):
    month = partitions.month_add(THIS_MONTH, 30)
    with tenant_context(world.public):
        partitions.partitions_ensure(schema="public", today=month, months_ahead=0)
        with connection.cursor() as cursor:
            cursor.execute("SELECT reloptions FROM pg_class WHERE oid = to_regclass(%s)",
                           [partitions.partition_name("tenants_auditlog", month)])
            assert "autovacuum_analyze_scale_factor=0.02" in cursor.fetchone()[0]


def test_row_retention_passes_domain_values_as_parameters_not_sql_literals():
    from integrations.models import WebhookDelivery

    # given every registered row retention
    entries = partitions.row_registry()
    # then no condition quotes a word (a status, a type): those come from the models' choices
    quoted = {entry.table: re.findall(r"'[A-Za-z_]+'", entry.where) for entry in entries}
    assert {table: words for table, words in quoted.items() if words} == {}
    bodies = next(entry for entry in entries if entry.table == WebhookDelivery._meta.db_table and entry.update)
    assert bodies.params == ([WebhookDelivery.Status.SUCCESS, WebhookDelivery.Status.FAILED],)
    assert bodies.where.count("%s") == len(bodies.params)
