"""PgBouncer (Debian's 1.18) in transaction pooling: the plain backend reads from the wrong tenant
through it, the pooled backend never does; the app and the tenant isolation tests run through it
(issue #19 item 4)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections

from cdp.context import Actor
from tests.ops.conftest import BASE_DIR, WebServer, ops_check


def _wrapper(backend, port: int, alias: str):
    config = {**settings.DATABASES["default"], "ENGINE": backend, "HOST": "127.0.0.1", "PORT": str(port),
              "NAME": connection.settings_dict["NAME"], "OPTIONS": {"prepare_threshold": None}, "CONN_MAX_AGE": 0}
    config.pop("TEST", None)
    from importlib import import_module

    configured = connections.configure_settings({"default": config})["default"]
    return import_module(f"{backend}.base").DatabaseWrapper(configured, alias)


def _interleaved(backend: str, port: int, world) -> str:
    """Client A opens a cursor for alpha, client B runs a query for beta, then A queries:
    which schema does A's query run in?"""
    a, b = _wrapper(backend, port, "bouncer_a"), _wrapper(backend, port, "bouncer_b")
    try:
        a.set_tenant(world.alpha)
        b.set_tenant(world.beta)
        cursor_a = a.cursor()
        with b.cursor() as cursor_b:
            cursor_b.execute("SELECT current_schema()")
            assert cursor_b.fetchone()[0] == "beta"
        cursor_a.execute("SELECT current_schema()")
        return cursor_a.fetchone()[0]
    finally:
        a.close()
        b.close()


def test_behind_transaction_pooling_the_plain_backend_reads_another_tenant(world, pgbouncer, settings):
    settings.TENANT_LIMIT_SET_CALLS = False  # what the README used to say was enough
    assert _interleaved("django_tenants.postgresql_backend", pgbouncer, world) == "beta"


def test_the_pooled_backend_always_reads_its_own_tenant(world, pgbouncer):
    assert _interleaved("cdp.ops.pgbouncer_backend", pgbouncer, world) == "alpha"


def test_the_pooled_backend_sets_the_path_again_after_a_rolled_back_savepoint(world, pgbouncer):
    """A SET made inside a savepoint is undone by its rollback: the next query must set it again
    (it ran in alpha's schema while the wrapper believed beta's set, before the fix)."""
    a = _wrapper("cdp.ops.pgbouncer_backend", pgbouncer, "bouncer_savepoint")

    def schema():
        with a.cursor() as cursor:
            cursor.execute("SELECT current_schema()")
            return cursor.fetchone()[0]

    try:
        a.set_autocommit(False)  # one transaction, as in atomic()
        a.set_tenant(world.alpha)
        assert schema() == "alpha"
        sid = a.savepoint()
        a.set_tenant(world.beta)
        assert schema() == "beta"
        a.savepoint_rollback(sid)
        assert schema() == "beta"
        a.rollback()
    finally:
        a.close()


@pytest.mark.processes
def test_the_app_through_pgbouncer_answers_each_tenant_with_its_own_data(world, committed, pgbouncer, tmp_path):
    # given a key per tenant and the app served through PgBouncer (one server connection per database)
    from tenants.services import api_key_create

    keys = committed(lambda: {tenant.slug: api_key_create(tenant=tenant, name="bouncer", scopes=["read"],
                                                          actor=Actor.system("tests")).key
                              for tenant in (world.alpha, world.beta)})
    url = f"postgresql://postgres:@127.0.0.1:{pgbouncer}/{connection.settings_dict['NAME']}"
    server = WebServer({"DATABASE_URL": url, "CDP_PGBOUNCER": "transaction"}, tmp_path / "web.log")
    wrong, errors = [], []
    try:
        # when both tenants read at once, many times (4 threads in the server, 4 clients here)
        def reader(slug: str):
            for _ in range(40):
                answer = server.get("/api/v1/tenant/", host=f"{slug}.localhost", key=keys[slug])
                if answer.status_code != 200:
                    errors.append((slug, answer.status_code, answer.text[:200]))
                elif answer.json()["slug"] != slug:
                    wrong.append((slug, answer.json()["slug"]))
                customers = server.get("/api/v1/customers/?page_size=1", host=f"{slug}.localhost", key=keys[slug])
                if customers.status_code != 200:
                    errors.append((slug, customers.status_code, customers.text[:200]))

        threads = [threading.Thread(target=reader, args=(slug,)) for slug in ("alpha", "beta", "alpha", "beta")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
    finally:
        server.stop()
    # then every answer was the asking tenant's
    assert not errors and not wrong


@ops_check
def test_tenant_isolation_tests_pass_through_pgbouncer(server_dir, tmp_path):
    """The isolation and platform tests, in a test run of their own whose every connection goes
    through PgBouncer in transaction pooling (its own test database: created through PgBouncer)."""
    from cdp.ops import pgbouncer as bouncer
    from tests.ops.conftest import free_port

    port = free_port()
    ini = bouncer.write_config(server_dir / "pgbouncer", server_socket_dir=Path(connection.settings_dict["HOST"]),
                               port=port, pool_size=2)
    process = bouncer.start(ini)
    try:
        env = {**os.environ, "CDP_PGBOUNCER": "transaction", "CDP_DATA_DIR": str(tmp_path / "data"),
               "DATABASE_URL": f"postgresql://postgres:@127.0.0.1:{port}/cdp_bouncer"}
        env.pop("CDP_OPS_CHECK", None)
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "tests/tenants/test_isolation.py",
             "tests/test_platform.py", "tests/security/test_members_and_roles.py"],
            cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=1500)
    finally:
        bouncer.stop(process)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout.splitlines()[-1]
