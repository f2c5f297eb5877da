"""Run Debian's PgBouncer in front of the embedded PostgreSQL (``manage.py pgbouncer``), in
transaction pooling, and point the app at it with ``CDP_PGBOUNCER=transaction`` (see
cdp/ops/pgbouncer_backend/base.py for what that changes and why).

The configuration written here is for one machine: PgBouncer listens on loopback and reaches
the server through its Unix socket with the server's own local trust. A PgBouncer serving other
machines needs ``auth_type = scram-sha-256`` with an ``auth_file`` or ``auth_query`` and TLS."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from cdp.ops import pgctl


def executable() -> str:
    path = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(path).exists():
        raise FileNotFoundError("pgbouncer is not installed (apt-get install pgbouncer)")
    return path


def version() -> str:
    out = subprocess.run([executable(), "--version"], capture_output=True, text=True, timeout=10).stdout
    return out.split()[1] if out.startswith("PgBouncer") else out.strip()


def write_config(directory: Path, *, server_socket_dir: Path, port: int, pool_mode: str = "transaction",
                 pool_size: int = 20, max_client_conn: int = 400, server_port: int = 5432) -> Path:
    """pgbouncer.ini (and an empty userlist) in ``directory``; returns the ini's path."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "userlist.txt").write_text('"postgres" ""\n')
    ini = directory / "pgbouncer.ini"
    ini.write_text(f"""\
[databases]
* = host={server_socket_dir} port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
pool_mode = {pool_mode}
default_pool_size = {pool_size}
min_pool_size = 0
max_client_conn = {max_client_conn}
max_db_connections = {pool_size * 2}
auth_type = trust
auth_file = {directory / 'userlist.txt'}
admin_users = postgres
ignore_startup_parameters = extra_float_digits
server_check_delay = 10
logfile = {directory / 'pgbouncer.log'}
pidfile = {directory / 'pgbouncer.pid'}
""")
    return ini


def start(ini: Path, *, log=None) -> subprocess.Popen:
    """PgBouncer in the foreground (``Popen``: stop it with ``stop``). It refuses to run as root,
    so as root it runs as the PostgreSQL server's user."""
    pgctl.hand_over(ini.parent)
    kwargs = {"user": pgctl.server_user()} if pgctl.server_user() else {}
    return subprocess.Popen([executable(), str(ini)], stdout=log or subprocess.DEVNULL,
                            stderr=subprocess.STDOUT, start_new_session=True, **kwargs)


def stop(process: subprocess.Popen, timeout: float = 10) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
