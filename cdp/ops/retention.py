"""Retention: what beat runs every night so that no table grows without bound.

``retention_apply_public`` handles the public schema, ``retention_apply_tenant`` one tenant's
schema (called inside it by the per-tenant fan-out). Both first create the partitions of the
coming months, then drop whole expired months and expire rows (cdp/ops/partitions.py)."""

from __future__ import annotations

import datetime

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.utils import timezone

from cdp.ops import partitions


def _today() -> datetime.date:
    return timezone.now().date()


def retention_apply_public(*, today: datetime.date | None = None) -> dict:
    """Public schema. A month of a shared table holds rows of every tenant, so it is dropped only
    when it is past the longest retention of any tenant (and of the platform's own rows);
    shorter per-tenant retention is applied row by row (tenants.tasks.audit_retention_prune_task)."""
    today = today or _today()
    report = {"created": partitions.partitions_ensure(schema="public", today=today), "dropped": [], "rows": {}}
    tenant_model = apps.get_model(settings.TENANT_MODEL)
    longest = max([int(settings.CDP_PLATFORM_AUDIT_RETENTION_DAYS)] + [
        int((tenant.settings or {}).get("data_retention_days") or tenant.setting("data_retention_days"))
        for tenant in tenant_model.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).only("settings")
    ])
    for entry in partitions.registry():
        if entry.schema != "public":
            continue
        cutoff = partitions.retention_cutoff(entry, today=today, tenant_days=longest)
        report["dropped"] += partitions.partitions_drop_expired(entry, cutoff=cutoff)
    for entry in partitions.row_registry():
        if entry.schema == "public":
            report["rows"][entry.table] = partitions.rows_expire(
                entry, cutoff=partitions.rows_cutoff(entry, today=today, tenant_days=None))
    return report


def retention_apply_tenant(*, tenant, today: datetime.date | None = None) -> dict:
    """One tenant's schema (the connection must be in it): its data_retention_days, and the
    seeds' periods where shorter (snapshots 12 months, facts 24)."""
    assert connection.schema_name == tenant.schema_name, "call inside the tenant's schema"
    today = today or _today()
    days = int(tenant.setting("data_retention_days"))
    report = {"created": partitions.partitions_ensure(schema="tenant", today=today), "dropped": [], "rows": {}}
    for entry in partitions.registry():
        if entry.schema == "tenant":
            cutoff = partitions.retention_cutoff(entry, today=today, tenant_days=days)
            report["dropped"] += partitions.partitions_drop_expired(entry, cutoff=cutoff)
    for entry in partitions.row_registry():
        if entry.schema == "tenant":
            key = entry.table + (":blank" if entry.update else "")
            report["rows"][key] = partitions.rows_expire(
                entry, cutoff=partitions.rows_cutoff(entry, today=today, tenant_days=days))
    return report
