"""Backups and restores on real clusters (issue #19 item 1), in ``make ops-check``: an installation
made from the test database (pg_basebackup of its server, the database renamed ``cdp``) is backed
up with WAL archiving, written to, restored whole and to a point in time into fresh data
directories, and its tenant moved into a second, freshly migrated cluster. Each time the row
counts, a Customer 360, a decrypted credential and a license validation must be identical."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg

from cdp.context import Actor
from cdp.ops import pgctl
from tests.ops.conftest import BASE_DIR, db_url, ops_check

FP = {"FP_SLUG": "alpha", "FP_EMAIL": "ops-backup-1@example.com", "FP_ACCOUNT": "ops-backup-store",
      "FP_MACHINE": "ops-backup-machine"}


def manage(data_dir: Path, *args, stdin: str | None = None, extra: dict | None = None, check=True):
    env = {**os.environ, "CDP_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "cdp.settings.local", **FP,
           **(extra or {})}
    # Each installation its own servers: the test suite's Redis (exported by cdp.embedded) holds
    # licensing state keyed by license id (collision windows) that another installation's license
    # with the same id would inherit (a soak run before made this one's license SUSPENDED).
    for name in ("DATABASE_URL", "REDIS_URL", "CDP_OPS_CHECK", "CDP_CREDENTIALS_KEYS", "CDP_LICENSE_SIGNING_KEY"):
        env.pop(name, None)
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, input=stdin,
                            capture_output=True, text=True, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def fingerprint(data_dir: Path, key: str) -> dict:
    script = (Path(__file__).parent / "fingerprint.py").read_text()
    out = manage(data_dir, "shell", stdin=script, extra={"FP_KEY": key}).stdout
    line = next(line for line in out.splitlines() if line.startswith("FINGERPRINT "))
    return json.loads(line[len("FINGERPRINT "):])


def _seed():
    """Committed in alpha: customers with orders, an integration with a credential, a license bound
    to a machine."""
    from django.db import connection
    from django_tenants.utils import tenant_context

    from integrations.services.integrations import integration_create
    from licensing.services import license_issue, license_validate
    from tenants.models import Tenant
    from tests.analytics.conftest import add_customer

    alpha = Tenant.objects.get(schema_name="alpha")
    actor = Actor.system("tests")
    with tenant_context(alpha):
        for n in range(1, 6):
            add_customer(alpha, [(datetime.date(2026, 1, n), 100 + n), (datetime.date(2026, 2, n), 50)],
                         email=f"ops-backup-{n}@example.com")
        integration_create(integration_type="vtex", account_name=FP["FP_ACCOUNT"], actor=actor,
                           credentials={"app_key": "vtexappkey-ops", "app_token": "s3cret-token-ops"},
                           config={"account": "opsstore"})
    connection.set_schema_to_public()
    issued = license_issue(tenant=alpha, plan_code="professional", actor=actor)
    assert license_validate(key=issued.key, fingerprint=FP["FP_MACHINE"], ip="127.0.0.1").code == "VALID"
    return issued.key


def _installation_from_test_cluster(data_dir: Path, source_data_dir: Path) -> None:
    """A real installation in seconds: the test cluster cloned, its test database renamed cdp."""
    pgctl.clone(db_url("postgres"), data_dir / "pgdata", standby=False)
    pgctl.start(data_dir / "pgdata")
    try:
        with psycopg.connect(pgctl.url_for(data_dir / "pgdata", "postgres"), autocommit=True) as conn:
            from django.db import connection as test_connection

            test_name = test_connection.settings_dict["NAME"]
            conn.execute("DROP DATABASE IF EXISTS cdp")
            conn.execute(f'ALTER DATABASE "{test_name}" RENAME TO cdp')
    finally:
        pgctl.stop(data_dir / "pgdata")
    shutil.copytree(source_data_dir / "secrets", data_dir / "secrets")


AFTER_BACKUP = """
from django_tenants.utils import tenant_context
from django.db import connection
from customers.models import Customer
from tenants.models import Tenant
with tenant_context(Tenant.objects.get(slug="alpha")):
    Customer.objects.create(email="{email}")
connection.set_schema_to_public()
with connection.cursor() as cursor:
    cursor.execute("SELECT now()")
    print("AT", cursor.fetchone()[0].isoformat())
"""

ARCHIVE_NOW = """
import time
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT pg_walfile_name(pg_current_wal_lsn())")
    current = cursor.fetchone()[0]
    cursor.execute("SELECT pg_switch_wal()")
    for _ in range(300):
        cursor.execute("SELECT last_archived_wal FROM pg_stat_archiver")
        done = cursor.fetchone()[0]
        if done and done >= current:
            break
        time.sleep(0.2)
    print("ARCHIVED", done, current)
"""


@ops_check
def test_backup_restore_point_in_time_and_tenant_move(world, committed, server_dir):
    from cdp import embedded

    key = committed(_seed)
    primary, backups = server_dir / "primary", server_dir / "backups"
    _installation_from_test_cluster(primary, embedded.data_dir())
    before = fingerprint(primary, key)
    assert before["credential"]["app_token"] == "s3cret-token-ops" and before["license"]["code"] == "VALID"

    # a backup: WAL archiving switched on (the server restarts once for it), keys carried
    made = manage(primary, "backup", "--output", str(backups), "--restart-server").stdout
    assert "carries the credential encryption keys" in made
    # writes after it: one before the target moment, one after
    manage(primary, "shell", stdin=AFTER_BACKUP.format(email="after-backup@example.com"))
    at_target = fingerprint(primary, key)
    target_time = manage(primary, "shell", stdin="from django.db import connection\n"
                         "c = connection.cursor(); c.execute('SELECT now()'); print('AT', c.fetchone()[0].isoformat())"
                         ).stdout.split("AT ", 1)[1].split()[0]
    manage(primary, "shell", stdin=AFTER_BACKUP.format(email="after-target@example.com"))
    manage(primary, "shell", stdin=ARCHIVE_NOW)
    at_end = fingerprint(primary, key)
    assert "after-target@example.com" in at_end["emails"] and "after-target@example.com" not in at_target["emails"]

    # restore to the point in time, into a fresh data dir
    to_point = server_dir / "restored-point"
    manage(primary, "restore", "--input", str(backups), "--data-dir", str(to_point), "--target-time", target_time)
    assert fingerprint(to_point, key) == at_target

    # restore whole (to the end of the archive), into another fresh data dir
    whole = server_dir / "restored-whole"
    out = manage(primary, "restore", "--input", str(backups), "--data-dir", str(whole)).stdout
    assert "Keys put back" in out
    assert fingerprint(whole, key) == at_end

    # a restore refuses a data dir that is not empty
    refused = manage(primary, "restore", "--input", str(backups), "--data-dir", str(whole), check=False)
    assert refused.returncode != 0 and "not empty" in refused.stderr

    # move the tenant into a second cluster (migrated from scratch, its own keys)
    export = server_dir / "alpha.tar.gz"
    manage(primary, "tenant_export", "alpha", str(export))
    assert oct(export.stat().st_mode & 0o777) == "0o600"
    second = server_dir / "second"
    manage(second, "migrate_schemas", "--shared", "--verbosity", "0")
    imported = manage(second, "tenant_import", str(export)).stdout
    assert "credentials re-encrypted" in imported
    moved = fingerprint(second, key)
    assert moved["counts"] == at_end["counts"]
    assert moved["customer_360"] == at_end["customer_360"]
    assert moved["credential"] == at_end["credential"]
    assert moved["license"] == at_end["license"]
    assert moved["members"] == at_end["members"]
    again = manage(second, "tenant_import", str(export), check=False)
    assert again.returncode != 0 and "already has a tenant" in again.stderr
    for data_dir in (primary, to_point, whole, second):
        pgctl.stop(data_dir / "pgdata")
