"""A tenant's storage, measured daily and counted against its plan's ``limit_storage_gb``.

What counts: every table of the tenant's schema with its indexes and TOAST
(``pg_total_relation_size``; partitions are tables of the schema, so partitioned logs count whole),
plus the files under its media directory (django-tenants' storage keeps them in
``MEDIA_ROOT/<schema>``). Shared tables (the public schema) count for nobody: they are the
platform's. The same 80% / 100% warnings as the other limits are written (once per threshold and
month while it lasts), as resource ``storage_mb`` with ``used`` and ``limit`` in megabytes: the log's
numbers are whole and a warning at 0.8 GB must not round away to "1 of 1". Storage is not refused at the limit (a write cannot know its size);
the warnings tell the owners to clean up or upgrade.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from licensing.models import WARNING_THRESHOLDS, StorageMeasurement
from licensing.selectors import license_current, month_start
from licensing.services.usage import usage_warning_record
from tenants.models import Tenant

WARNING_RESOURCE = "storage_mb"
BYTES_PER_GB = 10**9
BYTES_PER_MB = 10**6
# Tables, partitions and materialized views: what holds rows. Parents of partitioned tables hold none.
SIZED_RELKINDS = ["r", "m"]


def schema_bytes(schema_name: str) -> int:
    """Bytes of every table (with its indexes and TOAST) and materialized view in ``schema_name``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = ANY(%s)",
            [schema_name, SIZED_RELKINDS])
        return int(cursor.fetchone()[0])


def directory_bytes(path: Path) -> int:
    """Bytes of the regular files under ``path`` (0 when it does not exist); links are not followed."""
    total = 0
    stack = [Path(path)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                total += entry.stat(follow_symlinks=False).st_size
    return total


def tenant_media_root(tenant: Tenant) -> Path:
    return Path(settings.MEDIA_ROOT) / tenant.schema_name


@transaction.atomic
def storage_measure(*, tenant: Tenant) -> StorageMeasurement:
    """Measure ``tenant``'s storage now, keep it as today's row (a second run the same day
    replaces it), and write the 80% / 100% warnings its plan's storage limit calls for."""
    today = timezone.now().date()
    measurement, _created = StorageMeasurement.objects.update_or_create(
        tenant=tenant, measured_on=today,
        defaults={"measured_at": timezone.now(), "database_bytes": schema_bytes(tenant.schema_name),
                  "media_bytes": directory_bytes(tenant_media_root(tenant))})
    license = license_current(tenant=tenant)
    limit_gb = license.limit("storage_gb") if license is not None else None
    if limit_gb:
        used_mb, limit_mb = -(-measurement.total_bytes // BYTES_PER_MB), limit_gb * BYTES_PER_GB // BYTES_PER_MB
        for threshold in WARNING_THRESHOLDS:
            if used_mb * 100 >= threshold * limit_mb:
                usage_warning_record(tenant=tenant, license=license, resource=WARNING_RESOURCE, threshold=threshold,
                                     used=used_mb, limit=limit_mb, period_start=month_start())
    return measurement


def storage_measure_all() -> int:
    """Measure every tenant that is not cancelled (the daily task); returns how many."""
    count = 0
    for tenant in Tenant.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).exclude(
            status=Tenant.Status.CANCELLED).order_by("pk"):
        storage_measure(tenant=tenant)
        count += 1
    return count
