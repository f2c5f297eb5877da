"""Real processes for the fault tests: a Celery worker, the web server (gunicorn) and ``manage.py``
commands, started against the test database, held in the middle of their work, killed with
SIGKILL, and replaced.

- **Where a child finds the data.** ``DATABASE_URL`` is built from this process's connection (the
  test database's name, socket directory, port and user: never a fixed name, so a database per
  xdist worker works) and ``REDIS_URL`` is the Redis of this process's cache, so a child starts
  no embedded server and shares the keys the test looks at. Its database sessions carry its name
  as ``application_name``: that is how a test finds them in ``pg_stat_activity``. Its settings
  are tests/security/process_settings.py; each worker has broker keys of its own, so the worker
  that takes over after a kill can be started beside the one to be killed.
- **Committed data.** A child sees only committed rows, so these tests do not write inside the
  usual rolled-back transaction (``committed`` fixture): they commit, and afterwards every row
  above each table's high-water mark (public and every tenant schema) is deleted in one
  transaction, and the Redis keys they used with it. The session-wide world of tests/conftest.py
  is left as it was.
- **Parking a child in the middle of its work**, deterministically, never by sleeping: a local
  fake server takes a request and holds its answer until released (``Gate``), or an open
  transaction of the test (``Blocker``) holds a row the child is about to write or lock, so the
  child waits for it. The test waits for that state (``wait_until``), then kills the child's
  process group.

A killed child's PostgreSQL session ends on its own: at once when it was idle, or when the
statement it was running finishes (it then finds its client gone and rolls back). Release any
blocker after the kill, then ``wait_sessions_gone`` before looking at the outcome.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
import warnings
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings
from django.db import connection, transaction

from cdp import embedded

BASE_DIR = Path(__file__).resolve().parents[2]
SETTINGS_MODULE = "tests.security.process_settings"
#: Long enough for a loaded 2-core machine; a state reached sooner is used at once.
WAIT_SECONDS = 60


# --- waiting -----------------------------------------------------------------------------------------


def wait_until(predicate, *, what: str, timeout: float = WAIT_SECONDS, children=()):
    """Poll ``predicate()`` until it returns something truthy, and return that. Fails early when
    one of ``children`` exits, with the end of its log."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        value = predicate()
        if value:
            return value
        for child in children:
            if not child.alive():
                pytest.fail(f"{child.name} exited ({child.proc.returncode}) while waiting for {what}:\n{child.log()}")
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {child.name}:\n{child.log()}" for child in children)
            pytest.fail(f"timed out after {timeout:g}s waiting for {what}\n{logs}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.2)


def query(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


# --- children ----------------------------------------------------------------------------------------


class Child:
    """One started process (its own process group, so a kill reaches every process it forked)."""

    def __init__(self, name: str, args: list[str], env: dict, log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(args, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole process group: no handler runs, nothing is flushed or released."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def wait(self, timeout: float = WAIT_SECONDS) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self.name} did not finish within {timeout:g}s:\n{self.log()}")

    def log(self, tail: int | None = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail if tail else 0:]
        except OSError:
            return ""


def redis_url() -> str:
    """The Redis this process's cache uses (slots, flags, the due index): the children's too."""
    return settings.CACHES["default"]["LOCATION"]


class Processes:
    """Starts children against this test's database and Redis, and cleans up after them."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.run = uuid.uuid4().hex[:8]
        self.children: list[Child] = []

    # environment
    def app_name(self, name: str) -> str:
        return f"faults-{self.run}-{name}"

    def broker_prefix(self, name: str) -> str:
        """Each child has its own broker keys: a message is for the one worker it is sent to, and a
        worker started ahead of time (to take over after a kill) sees nothing meant for another."""
        return f"cdp-faults-{self.run}-{name}:"

    def database_url(self, name: str) -> str:
        db = connection.settings_dict
        user = quote(db["USER"] or "", safe="")
        password = quote(db["PASSWORD"] or "", safe="")
        auth = f"{user}:{password}@" if password else f"{user}@" if user else ""
        host = db["HOST"] or ""
        options = {**{k: str(v) for k, v in (db.get("OPTIONS") or {}).items()}, "application_name": self.app_name(name)}
        if host.startswith("/"):  # a socket directory: given as ?host=, the port names the socket file
            netloc = f"{auth}:{db['PORT']}" if db["PORT"] else auth
            options["host"] = host
        else:
            netloc = f"{auth}{host}" + (f":{db['PORT']}" if db["PORT"] else "")
        return f"postgresql://{netloc}/{quote(db['NAME'], safe='')}?{urlencode(options)}"

    def env(self, name: str, **extra) -> dict:
        env = dict(os.environ)
        env.update({
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
            "DATABASE_URL": self.database_url(name),
            "REDIS_URL": redis_url(),
            "CDP_FAULTS_BROKER_PREFIX": self.broker_prefix(name),
            "CDP_DB_CONN_MAX_AGE": "0",
            "PYTHONUNBUFFERED": "1",
        })
        env.update({key: str(value) for key, value in extra.items()})
        return env

    def start(self, name: str, args: list[str], **env) -> Child:
        child = Child(name, args, self.env(name, **env), self.log_dir)
        self.children.append(child)
        return child

    # the three kinds of process
    def worker(self, name: str, *, queues=("default", "syncs"), **env) -> Child:
        """A Celery worker with the solo pool: the task runs in the worker's own process."""
        return self.start(name, [sys.executable, "-m", "celery", "-A", "cdp", "worker", "--pool", "solo",
                                 "--queues", ",".join(queues), "--hostname", f"{self.app_name(name)}@%h",
                                 "--without-gossip", "--without-mingle", "--without-heartbeat",
                                 "--loglevel", "INFO"], **env)

    def web(self, name: str, **env) -> Child:
        """gunicorn as ``manage.py serve`` runs it, on a port of its choosing (``serving()`` waits for it)."""
        return self.start(name, [sys.executable, "-m", "gunicorn", "cdp.wsgi:application", "--bind", "127.0.0.1:0",
                                 "--workers", "1", "--threads", "4", "--graceful-timeout", "5"], **env)

    def serving(self, web: Child) -> str:
        """The web process's URL, once it answers /healthz."""
        import requests

        def listening():
            found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", web.log(tail=None))
            return found and found.group(1)

        url = wait_until(listening, what=f"{web.name} to listen", children=[web])

        def healthy():
            with contextlib.suppress(requests.RequestException):
                return requests.get(f"{url}/healthz", timeout=5).status_code == 200
            return False

        wait_until(healthy, what=f"{web.name} to answer /healthz", children=[web])
        return url

    def manage(self, name: str, *args: str, **env) -> Child:
        return self.start(name, [sys.executable, "manage.py", *args], **env)

    # talking to the workers
    def send_task(self, task: str, *, to: Child, queue: str, kwargs: dict | None = None, args=None,
                  schema: str = "public", countdown: float | None = None) -> None:
        """Queue ``task`` through the broker for the worker ``to``, as beat or the app would."""
        from cdp.celery import app

        broker = embedded.celery_broker_url(redis_url())  # the child's, derived as its settings do
        with app.connection_for_write(broker, transport_options={"global_keyprefix": self.broker_prefix(to.name)}) \
                as conn, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "task_always_eager has no effect on send_task": indeed
            app.send_task(task, args=args, kwargs=kwargs or {}, queue=queue, headers={"_schema_name": schema},
                          countdown=countdown, connection=conn)

    @contextlib.contextmanager
    def tasks_to(self, worker: Child):
        """Inside: a task this process queues (``delay()``, run in place under the test settings) goes
        to ``worker``, in the current schema, as in a deployment."""
        from celery.app.task import Task

        from cdp.celery import app

        def apply_async(task, args=None, kwargs=None, **options):
            queue = options.get("queue") or app.amqp.router.route(dict(options), task.name, args, kwargs)["queue"]
            self.send_task(task.name, to=worker, queue=getattr(queue, "name", queue), args=args, kwargs=kwargs,
                           schema=connection.schema_name, countdown=options.get("countdown"))

        original = Task.apply_async
        Task.apply_async = apply_async
        try:
            yield
        finally:
            Task.apply_async = original

    # their database sessions
    def sessions(self, child: Child) -> list[tuple]:
        """(pid, state, wait_event_type, query) of the child's live database sessions."""
        return query("SELECT pid, state, wait_event_type, query FROM pg_stat_activity WHERE application_name = %s",
                     [self.app_name(child.name)])

    def wait_sessions_gone(self, child: Child, timeout: float = WAIT_SECONDS) -> None:
        wait_until(lambda: not self.sessions(child), what=f"the database sessions of the killed {child.name} to end",
                   timeout=timeout)

    def close(self) -> None:
        for child in self.children:
            if child.alive():
                child.kill()
        names = [self.app_name(child.name) for child in self.children]
        if names:
            deadline = time.monotonic() + 20
            while query("SELECT 1 FROM pg_stat_activity WHERE application_name = ANY(%s)", [names]):
                if time.monotonic() > deadline:  # a session stuck behind a lock we no longer see: end it
                    query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ANY(%s)",
                          [names])
                    break
                time.sleep(0.1)
        from django_redis import get_redis_connection

        redis = get_redis_connection("default")
        for key in redis.scan_iter(match=f"cdp-faults-{self.run}-*", count=1000):
            redis.delete(key)


# --- parking a child ---------------------------------------------------------------------------------


class Gate:
    """Holds back the answers of a fake server's requests that ``matches`` until ``release()``:
    the request was received and handled (a charge made, a delivery accepted), its answer is not
    sent. ``arrived`` is set when the first one is held."""

    def __init__(self, matches):
        self.matches = matches
        self.arrived = threading.Event()
        self._released = threading.Event()

    def hold(self, *request) -> None:
        if not self._released.is_set() and self.matches(*request):
            self.arrived.set()
            self._released.wait(timeout=WAIT_SECONDS * 2)

    def release(self) -> None:
        self._released.set()

    def wrap(self, fake, method: str) -> None:
        """Gate ``fake.<method>(*request)``: it runs, then its answer waits here."""
        handler = getattr(fake, method)

        def gated(*request):
            answer = handler(*request)
            self.hold(*request)
            return answer

        setattr(fake, method, gated)


class _Rollback(Exception):
    pass


class Blocker:
    """An open transaction of the test's, in a thread with its own connection: the rows ``write()``
    inserts are invisible to others, and a child inserting the same unique key waits for this
    transaction to end. ``release()`` rolls it back."""

    def __init__(self, write, *, tenant=None):
        self.write, self.tenant = write, tenant
        self.ready, self._released = threading.Event(), threading.Event()
        self.pid: int | None = None
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        from django_tenants.utils import tenant_context

        try:
            with (tenant_context(self.tenant) if self.tenant else contextlib.nullcontext()), transaction.atomic():
                self.pid = query("SELECT pg_backend_pid()")[0][0]
                self.write()
                self.ready.set()
                self._released.wait(timeout=WAIT_SECONDS * 2)
                raise _Rollback
        except _Rollback:
            pass
        except BaseException as exc:  # reported by start()
            self.errors.append(exc)
            self.ready.set()
        finally:
            connection.close()

    def __enter__(self) -> Blocker:
        self.thread.start()
        self.ready.wait(timeout=WAIT_SECONDS)
        if self.errors:
            raise self.errors[0]
        assert self.pid, "the blocking transaction did not start"
        return self

    def release(self) -> None:
        self._released.set()
        self.thread.join(timeout=WAIT_SECONDS)

    def __exit__(self, *exc) -> None:
        self.release()

    def waiters(self, processes: Processes, child: Child) -> list[int]:
        """The child's sessions waiting for this transaction (on a lock it holds)."""
        return [pid for (pid,) in query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND %s = ANY(pg_blocking_pids(pid))",
            [processes.app_name(child.name), self.pid])]


def locks_held(pid: int) -> dict[str, set[str]]:
    """Relation name -> lock modes the session ``pid`` holds (granted)."""
    held: dict[str, set[str]] = {}
    for name, mode in query("SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                            "WHERE l.pid = %s AND l.granted", [pid]):
        held.setdefault(name, set()).add(mode)
    return held


# --- committed data, and its removal -----------------------------------------------------------------


class HighWater:
    """Every table with an integer primary key, in the public schema and each tenant's: the largest
    key now. ``remove_above()`` removes every row above it, in one transaction (foreign keys are
    checked at its commit, so the order of the tables does not matter): tables that were empty
    and that only other such tables refer to are truncated (a 20,000-row import's customers are
    gone in milliseconds, not one foreign-key check per row), the others lose their new rows. The
    few tables keyed otherwise (document counters, sessions) are copied whole and put back."""

    def __init__(self):
        schemas = [name for (name,) in query("SELECT schema_name FROM tenants_tenant")]
        tables = query("""
            SELECT c.oid, format('%%I.%%I', n.nspname, c.relname), a.attname,
                   a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary AND i.indnatts = 1
              LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
             WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p') AND c.relpersistence = 'p'
               AND c.relname <> 'django_migrations'""", [schemas])
        self.marks: dict[int, tuple[str, str, int]] = {}  # oid -> (name, primary key, largest key)
        self.copies: dict[str, str] = {}
        for oid, name, pk, integer in tables:
            if integer:
                self.marks[oid] = (name, pk, query(f'SELECT coalesce(max("{pk}"), 0) FROM {name}')[0][0])
            else:
                self.copies[name] = query(f"SELECT coalesce(json_agg(t), '[]')::text FROM {name} t")[0][0]
        # Truncating a table truncates the tables referring to it (CASCADE): only those that were
        # empty too may be, so a table referred to by any other is left to DELETE.
        empty = {oid for oid, (_, _, mark) in self.marks.items() if mark == 0}
        references = query("SELECT conrelid, confrelid FROM pg_constraint WHERE contype = 'f' AND conrelid <> confrelid")
        while kept := {referenced for referring, referenced in references
                       if referenced in empty and referring not in empty}:
            empty -= kept
        self.empty = empty

    def remove_above(self) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            filled = [name for oid, (name, _, _) in self.marks.items()
                      if oid in self.empty and query(f"SELECT EXISTS (SELECT 1 FROM {name})")[0][0]]
            if filled:
                cursor.execute(f"TRUNCATE {', '.join(filled)} CASCADE")
            for oid, (name, pk, mark) in self.marks.items():
                if oid not in self.empty:
                    cursor.execute(f'DELETE FROM {name} WHERE "{pk}" > %s', [mark])
            for name, rows in self.copies.items():
                cursor.execute(f"DELETE FROM {name}")
                cursor.execute(f"INSERT INTO {name} SELECT * FROM json_populate_recordset(NULL::{name}, %s::json)",
                               [rows])


@pytest.fixture
def committed(db, tmp_path):
    """For a test whose data real processes must see. pytest-django sets up the database only for
    tests that use ``db``, and wraps them in a transaction that is rolled back; here that
    transaction stays empty: for the duration of the test, this thread's connection is another
    one, which commits as it goes. What the test leaves is removed afterwards (see ``HighWater``).
    Yields the ``Processes`` to start children with; they are all killed at the end."""
    from django.db import connections

    from licensing import store
    from tests.integrations.fakes import clear_outbound_keys

    rolled_back = connections["default"]
    connections["default"] = connections.create_connection("default")
    try:
        connection.set_schema_to_public()
        marks = HighWater()
        clear_outbound_keys()
        processes = Processes(tmp_path)
        try:
            yield processes
        finally:
            processes.close()
            connection.set_schema_to_public()
            marks.remove_above()
            clear_outbound_keys()
            store.clear_all()  # license validations and API usage the children counted in Redis
    finally:
        connection.close()
        connections["default"] = rolled_back
