"""Real processes for the operations tests: clusters made with pg_basebackup from the test
database's server, a web server, committed data that is removed afterwards."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import requests
from django.db import connection

from cdp.ops import pgctl
from tests import threads

BASE_DIR = Path(__file__).resolve().parents[2]


def db_url(dbname: str | None = None) -> str:
    info = connection.settings_dict
    return pgctl.url_for(Path(info["HOST"]), dbname or info["NAME"], info["USER"] or "postgres")


def in_thread(fn):
    """``tests.threads.in_thread`` with the longer wait real clusters need."""
    return threads.in_thread(fn, timeout=300)


class Committed:
    """Remembers the highest id of every table of some schemas, and deletes what was committed
    above it afterwards (the rest of the suite expects the world as it was)."""

    def __init__(self, url: str, schemas: tuple[str, ...]):
        self.url, self.schemas, self.marks = url, schemas, {}

    def _tables(self, conn):
        return conn.execute(
            "SELECT c.table_schema, c.table_name, bool_or(c.column_name = 'id') FROM information_schema.columns c "
            "JOIN pg_class k ON k.oid = to_regclass(quote_ident(c.table_schema) || '.' || quote_ident(c.table_name)) "
            "WHERE c.table_schema = ANY(%s) AND k.relkind IN ('r', 'p') AND NOT k.relispartition "
            "AND c.table_name NOT IN ('django_migrations', 'django_content_type', 'auth_permission') "
            "GROUP BY 1, 2", [list(self.schemas)]).fetchall()

    def mark(self):
        with psycopg.connect(self.url, autocommit=True) as conn:
            for schema, table, has_id in self._tables(conn):
                query = f'SELECT {"max(id)" if has_id else "count(*)"} FROM "{schema}"."{table}"'
                self.marks[(schema, table)] = (has_id, conn.execute(query).fetchone()[0])

    def restore(self):
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("SET session_replication_role = replica")  # no FK order to respect
            for schema, table, has_id in self._tables(conn):
                _has_id, mark = self.marks.get((schema, table), (has_id, None))
                if has_id:
                    conn.execute(f'DELETE FROM "{schema}"."{table}" WHERE id > %s', [mark or 0])
                elif not mark:
                    conn.execute(f'DELETE FROM "{schema}"."{table}"')


@pytest.fixture
def committed(world):
    """Commit in a thread; whatever it committed in public, alpha and beta is deleted at the end."""
    keeper = Committed(db_url(), ("public", "alpha", "beta"))
    keeper.mark()
    yield in_thread
    keeper.restore()
    from licensing import store

    store.clear_all()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class WebServer:
    """gunicorn serving the test database (plus whatever ``env`` adds) on a loopback port."""

    def __init__(self, env: dict, log: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "cdp.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", "1", "--threads", "2", "--timeout", "60"],
            cwd=BASE_DIR, env={**os.environ, "DJANGO_SETTINGS_MODULE": "cdp.settings.test",
                               "DATABASE_URL": db_url(), **env},
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            pgctl.wait_for(lambda: requests.get(self.base + "/healthz", timeout=2).status_code == 200,
                           timeout=90, what="the web server")
        except TimeoutError:
            try:
                last = requests.get(self.base + "/healthz", timeout=2).text[:500]
            except requests.RequestException as exc:
                last = repr(exc)
            self.stop()
            raise TimeoutError(f"the web server did not become healthy: {last}\n{log.read_text()[-3000:]}") from None

    def get(self, path: str, *, host: str, key: str | None = None, **kwargs):
        headers = {"Host": host, **({"Authorization": f"Api-Key {key}"} if key else {})}
        return requests.get(self.base + path, headers=headers, timeout=30, **kwargs)

    def send(self, method: str, path: str, *, host: str, key: str, json=None):
        return requests.request(method, self.base + path, headers={"Host": host, "Authorization": f"Api-Key {key}"},
                                json=json, timeout=30)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class Standby:
    """A streaming standby of the test database's server: pg_basebackup -R, then started."""

    def __init__(self, pgdata: Path):
        self.pgdata = pgdata
        try:
            pgctl.clone(db_url("postgres"), pgdata, standby=True)
            self.socket_dir = pgctl.start(pgdata)
            self.url = pgctl.url_for(self.socket_dir, connection.settings_dict["NAME"])
            pgctl.wait_for(lambda: self.query("SELECT status = 'streaming' FROM pg_stat_wal_receiver"),
                           timeout=60, what="the standby to stream")
        except BaseException:  # the fixture never gets the node to remove: no server left behind
            self.remove()
            raise

    def query(self, sql: str, params=None):
        with psycopg.connect(self.url, autocommit=True, connect_timeout=3) as conn:
            row = conn.execute(sql, params).fetchone()
            return row[0] if row else None

    def wait_replayed(self, timeout: float = 120):
        with psycopg.connect(db_url(), autocommit=True) as conn:
            target = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
        pgctl.wait_for(lambda: self.query("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [str(target)]),
                       timeout=timeout, what="the standby to replay")

    def remove(self):
        pgctl.remove(self.pgdata)


@pytest.fixture
def server_dir():
    """A directory for clusters and PgBouncer that the server user can reach: under the data
    directory, not pytest's tmp_path (a concurrent pytest of another checkout resets the shared
    /tmp/pytest-of-<user> to 0700, cutting a running server off its files)."""
    import shutil
    import uuid

    from cdp import embedded

    path = embedded.data_dir() / "ops-tests" / uuid.uuid4().hex[:8]
    path.mkdir(parents=True)
    yield path
    # whatever a failed test left running here (a restored cluster, a standby) stops with it
    for pid_file in path.rglob("postmaster.pid"):
        pgctl.stop(pid_file.parent, mode="immediate")
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def standby(world, server_dir):
    node = Standby(server_dir / "standby")
    yield node
    node.remove()




#: Tests too slow for ``make test`` (a backup and restore round trip, a nested test run through
#: PgBouncer): skipped unless ``CDP_OPS_CHECK`` is set; ``make ops-check`` runs exactly these
#: (``-m ops_check``), and ``make test`` runs it after the suite when ``CI`` is set.
ops_check = pytest.mark.ops_check


def pytest_runtest_setup(item):
    if item.get_closest_marker("ops_check") and not os.environ.get("CDP_OPS_CHECK"):
        pytest.skip("slow: runs in make ops-check (CDP_OPS_CHECK=1)")


@pytest.fixture
def pgbouncer(world, server_dir):
    """Debian's PgBouncer in transaction pooling in front of the test database's server, with
    a pool of ONE server connection per database: any statement that depends on state left by
    another (a SET) meets whatever the previous client left there."""
    from cdp.ops import pgbouncer as bouncer

    try:
        bouncer.executable()
    except FileNotFoundError:
        if os.environ.get("CI") or os.environ.get("CDP_OPS_CHECK"):
            raise
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer)")
    port = free_port()
    ini = bouncer.write_config(server_dir / "pgbouncer", server_socket_dir=Path(connection.settings_dict["HOST"]),
                               port=port, pool_size=1)
    process = bouncer.start(ini)
    try:
        pgctl.wait_for(lambda: psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres",
                                               connect_timeout=2).close() or True, timeout=30, what="pgbouncer")
        yield port
    finally:
        bouncer.stop(process)
