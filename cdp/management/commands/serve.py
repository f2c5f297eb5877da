"""Run the whole product in the foreground: gunicorn, a Celery worker and Celery beat.

This process holds the embedded PostgreSQL and Redis (when no DATABASE_URL/REDIS_URL is set):
manage.py started them, and the children inherit their URLs (cdp/embedded.py), so they live
exactly as long as the app. Each child runs in its own session: Ctrl-C (or SIGTERM) reaches this
process only, which stops the children (SIGTERM, then SIGKILL to whatever is left of each child's
process group after STOP_TIMEOUT), then the servers.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

from django.conf import settings

from cdp import embedded, registry
from cdp.commands import CdpCommand
from cdp.embedded import data_dir

STOP_TIMEOUT = 20


class Command(CdpCommand):
    help = "Serve the app with gunicorn plus a Celery worker and beat, until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.CDP_BASE_PORT)
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--no-celery", action="store_true", help="Only the web server.")

    def handle(self, *args, host, port, web_workers, no_celery, **options):
        embedded.start()  # already done by manage.py; children inherit DATABASE_URL/REDIS_URL
        python = sys.executable
        run_dir = data_dir() / "run"
        run_dir.mkdir(exist_ok=True)
        # Metrics of every child add up at /metrics (prometheus-client's multiprocess mode): each
        # process writes its samples here; emptied at start so a previous run's do not count.
        metrics_dir = data_dir() / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir()
        child_env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
        commands = {
            "web": [python, "-m", "gunicorn", "cdp.wsgi:application", "--bind", f"{host}:{port}",
                    "--workers", str(web_workers), "--threads", "4", "--access-logfile", "-",
                    "--graceful-timeout", "10", "--config", "python:cdp.ops.gunicorn_conf"],
        }
        if not no_celery:
            commands["worker"] = [python, "-m", "celery", "-A", "cdp", "worker", "--loglevel", "INFO",
                                  "--queues", ",".join(settings.CELERY_TASK_QUEUES_NAMES), "--concurrency", "2",
                                  "--hostname", f"cdp-{port}@%h"]
            commands["beat"] = [python, "-m", "celery", "-A", "cdp", "beat", "--loglevel", "INFO",
                                "--pidfile", str(run_dir / "beat.pid")]
        children: dict[str, subprocess.Popen] = {}
        signals_received = 0

        def stop(signum=None, frame=None):
            nonlocal signals_received
            signals_received += 1
            if signals_received > 1:  # a second Ctrl-C: no more waiting
                self._kill_groups(children)

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        exit_code = 0
        try:
            for name, command in commands.items():
                children[name] = subprocess.Popen(command, env=child_env, start_new_session=True)

            base = f"http://{{host}}:{port}"
            self.stdout.write(self.style.SUCCESS("\nCDP is running. Open:"))
            self.stdout.write(f"  Operators' admin   {base.format(host='localhost')}/admin/")
            self.stdout.write(f"  Demo portal        {base.format(host='demo.localhost')}/")
            self.stdout.write(f"  Demo tenant admin  {base.format(host='demo.localhost')}/admin/")
            self.stdout.write(f"  Demo API docs      {base.format(host='demo.localhost')}/api/docs/")
            self.stdout.write(f"  Health             {base.format(host='localhost')}/healthz")
            for line in registry.run_banner_lines():
                self.stdout.write(line)
            self.stdout.write("Press Ctrl-C to stop.\n")

            while not signals_received:
                for name, child in children.items():
                    if child.poll() is not None and not signals_received:
                        self.stderr.write(f"{name} exited with code {child.returncode}; stopping everything.")
                        exit_code = 1
                        signals_received = 1
                time.sleep(0.2)
        finally:
            self.stdout.write("Stopping...")
            self._stop_children(children)
            embedded.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("Stopped.")
        if exit_code:
            sys.exit(exit_code)

    def _stop_children(self, children: dict[str, subprocess.Popen]) -> None:
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        for name, child in children.items():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                # A Celery worker's warm shutdown waits for its running tasks (acks_late: a killed
                # task is delivered again).
                self.stderr.write(f"{name} did not stop within {STOP_TIMEOUT}s; killing it.")
        # Whatever is left in a child's process group (a hung gunicorn worker, a Celery pool
        # process whose parent died) goes now, before the database it uses.
        self._kill_groups(children)
        for child in children.values():
            child.wait()

    @staticmethod
    def _kill_groups(children: dict[str, subprocess.Popen]) -> None:
        for child in children.values():
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
