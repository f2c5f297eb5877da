"""``manage.py pgbouncer [--port 6432]``: Debian's PgBouncer in transaction pooling in front of the
embedded PostgreSQL, in the foreground (Ctrl-C stops it). Point the app at it with
``DATABASE_URL=postgresql://postgres:@127.0.0.1:6432/cdp CDP_PGBOUNCER=transaction``."""

from __future__ import annotations

import signal

from django.core.management.base import CommandError

from cdp import embedded
from cdp.commands import CdpCommand
from cdp.ops import pgbouncer


class Command(CdpCommand):
    help = "Run PgBouncer (transaction pooling) in front of the embedded PostgreSQL until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=6432)
        parser.add_argument("--pool-size", type=int, default=20)
        parser.add_argument("--mode", choices=["transaction", "session"], default="transaction")

    def handle(self, *args, port, pool_size, mode, **options):
        url = embedded.database_url()
        from cdp.ops.pgctl import conninfo

        socket_dir = conninfo(url)["host"]
        if not socket_dir.startswith("/"):
            raise CommandError("PgBouncer here fronts the embedded server; DATABASE_URL points elsewhere")
        try:
            ini = pgbouncer.write_config(embedded.data_dir() / "pgbouncer", server_socket_dir=socket_dir, port=port,
                                         pool_mode=mode, pool_size=pool_size)
            process = pgbouncer.start(ini)
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"PgBouncer {pgbouncer.version()} ({mode} pooling) on 127.0.0.1:{port}. Use:\n"
                          f"  DATABASE_URL=postgresql://postgres:@127.0.0.1:{port}/{conninfo(url)['dbname']}"
                          + (" CDP_PGBOUNCER=transaction" if mode == "transaction" else ""))
        signal.signal(signal.SIGTERM, lambda *_: process.terminate())
        try:
            process.wait()
        except KeyboardInterrupt:
            pass
        finally:
            pgbouncer.stop(process)
