"""A tenant's storage (its schema's tables plus its media) measured and counted against the plan's
storage limit with the 80% / 100% warnings (issue #22 item 8)."""

from __future__ import annotations

import re

from licensing.models import StorageMeasurement, UsageLog
from licensing.selectors import license_usage
from licensing.services.storage import (
    BYTES_PER_GB,
    directory_bytes,
    schema_bytes,
    storage_measure,
    storage_measure_all,
    tenant_media_root,
)
from licensing.tasks import storage_measure_task


def test_a_schema_is_measured_with_its_tables_indexes_and_toast(world):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(SUM(pg_total_relation_size(format('%%I.%%I', schemaname, tablename)::regclass)),"
                       " 0) FROM pg_tables WHERE schemaname = %s", [world.alpha.schema_name])
        tables_total = int(cursor.fetchone()[0])
    measured = schema_bytes(world.alpha.schema_name)
    assert measured >= tables_total > 0
    assert schema_bytes("no_such_schema") == 0


def test_media_files_count_and_missing_directories_are_empty(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.csv").write_bytes(b"x" * 1000)
    (tmp_path / "two.bin").write_bytes(b"y" * 24)
    (tmp_path / "link").symlink_to(tmp_path / "a")
    assert directory_bytes(tmp_path) == 1024
    assert directory_bytes(tmp_path / "missing") == 0


def test_a_measurement_counts_against_the_plan_with_warnings_at_80_and_100(world, issue, settings, tmp_path):
    # given a plan of 1 GB and a tenant holding a 900 MB file (sparse: no disk used)
    settings.MEDIA_ROOT = tmp_path
    license = issue(world.alpha, custom_limits={"storage_gb": 1})
    media = tenant_media_root(world.alpha)
    media.mkdir(parents=True)
    with (media / "export.csv").open("wb") as handle:
        handle.truncate(900 * 10**6)
    # when
    measurement = storage_measure(tenant=world.alpha)
    # then the 80% warning is written once, not the 100% one
    assert measurement.media_bytes == 900 * 10**6 and measurement.database_bytes > 0
    warnings = UsageLog.objects.filter(tenant=world.alpha, event=UsageLog.Event.WARNING, resource="storage_mb")
    assert list(warnings.values_list("threshold", flat=True)) == [80]
    assert warnings.get().limit == 1000 and warnings.get().license == license
    row = next(r for r in license_usage(tenant=world.alpha)["rows"] if r["resource"] == "storage_gb")
    assert row["used"] == round(measurement.total_bytes / BYTES_PER_GB, 2) and row["level"] == "warning"
    # and when it grows past the limit, the 100% warning; a second run the same day replaces the row
    with (media / "export.csv").open("wb") as handle:
        handle.truncate(1100 * 10**6)
    storage_measure(tenant=world.alpha)
    assert sorted(warnings.values_list("threshold", flat=True)) == [80, 100]
    assert StorageMeasurement.objects.filter(tenant=world.alpha).count() == 1
    row = next(r for r in license_usage(tenant=world.alpha)["rows"] if r["resource"] == "storage_gb")
    assert row["level"] == "exceeded"


def test_without_a_storage_limit_nothing_is_warned_and_the_daily_task_measures_everyone(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    assert storage_measure_task() == storage_measure_all() >= 2
    assert set(StorageMeasurement.objects.values_list("tenant__slug", flat=True)) >= {"alpha", "beta"}
    assert not UsageLog.objects.filter(resource="storage_mb").exists()


def test_the_portal_shows_the_measured_storage(world, alpha_client, issue, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    issue(world.alpha, custom_limits={"storage_gb": 5})
    storage_measure(tenant=world.alpha)
    page = alpha_client(world.user("alpha_owner")).get("/license/")
    assert page.status_code == 200
    used = re.search(r'data-resource="storage_gb".*?<td class="num">([^<]*)</td>', page.content.decode(), re.S)
    assert used and used.group(1).strip() not in ("", "–")  # a measured figure, not "not metered"
