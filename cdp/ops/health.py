"""Readiness: ``/readyz`` answers 200 only when this process can serve: the database and the
broker answer (as ``/healthz`` checks) and every migration on disk is applied, in the public schema
and in every tenant schema. A load balancer sends traffic only to ready processes, so a deploy
whose migrations have not run yet (or failed half-way over the tenants) takes none."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_tenants.utils import get_tenant_model

from cdp.middleware import health_report

_migrations_ok = False


def migrations_report() -> dict:
    """{"status": "ok"|"pending", "public": [missing...], "tenants": {schema: missing count}}.
    Once everything is applied the answer is remembered by this process (migrations do not
    un-apply; new code comes with a new process)."""
    global _migrations_ok
    if _migrations_ok:
        return {"status": "ok"}
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    expected = sorted(f"{app}.{name}" for app, name in loader.graph.nodes)
    with connection.cursor() as cursor:
        cursor.execute("SELECT app || '.' || name FROM public.django_migrations")
        public_missing = sorted(set(expected) - {row[0] for row in cursor.fetchall()})
        tenant_table = connection.ops.quote_name(get_tenant_model()._meta.db_table)
        cursor.execute(f"SELECT schema_name FROM public.{tenant_table} WHERE schema_name <> %s ORDER BY 1",
                       [settings.PUBLIC_SCHEMA_NAME])
        schemas = [row[0] for row in cursor.fetchall()]
        behind: dict[str, int] = {}
        for start in range(0, len(schemas), 200):
            chunk = schemas[start:start + 200]
            parts = [f"SELECT %s, count(*) FROM {connection.ops.quote_name(schema)}.django_migrations "
                     f"WHERE app || '.' || name = ANY(%s)" for schema in chunk]
            params = [value for schema in chunk for value in (schema, expected)]
            try:
                cursor.execute(" UNION ALL ".join(parts), params)
                behind.update({schema: len(expected) - count for schema, count in cursor.fetchall()
                               if count < len(expected)})
            except Exception:  # a schema without its tables: not migrated at all
                connection.rollback() if not connection.get_autocommit() else None
                behind.update({schema: len(expected) for schema in chunk})
    ok = not public_missing and not behind
    _migrations_ok = ok
    return {"status": "ok" if ok else "pending", "public": public_missing[:20], "tenants": dict(list(behind.items())[:20])}


def readiness_report() -> tuple[bool, dict]:
    healthy, report = health_report()
    started = time.perf_counter()
    try:
        migrations = migrations_report()
        migrations["ms"] = round((time.perf_counter() - started) * 1000, 2)
    except Exception as exc:
        migrations = {"status": "error", "error": exc.__class__.__name__}
    report["migrations"] = migrations
    ready = healthy and migrations["status"] == "ok"
    return ready, report
