"""Run the whole product in the foreground: gunicorn, a Celery worker and Celery beat.

This process holds the embedded PostgreSQL and Redis (when no DATABASE_URL/REDIS_URL is set),
so they live exactly as long as the app. Ctrl-C (or SIGTERM) stops the children, then them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from cdp.embedded import data_dir

STOP_TIMEOUT = 20


class Command(BaseCommand):
    help = "Serve the app with gunicorn plus a Celery worker and beat, until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.CDP_BASE_PORT)
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--no-celery", action="store_true", help="Only the web server.")

    def handle(self, *args, host, port, web_workers, no_celery, **options):
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
        stopping = False

        def stop(signum=None, frame=None):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        for name, command in commands.items():
            children[name] = subprocess.Popen(command, env=child_env)

        base = f"http://{{host}}:{port}"
        self.stdout.write(self.style.SUCCESS("\nCDP is running. Open:"))
        self.stdout.write(f"  Operators' admin   {base.format(host='localhost')}/admin/")
        self.stdout.write(f"  Demo portal        {base.format(host='demo.localhost')}/")
        self.stdout.write(f"  Demo tenant admin  {base.format(host='demo.localhost')}/admin/")
        self.stdout.write(f"  Demo API docs      {base.format(host='demo.localhost')}/api/docs/")
        self.stdout.write(f"  Health             {base.format(host='localhost')}/healthz")
        self.stdout.write("Press Ctrl-C to stop.\n")

        exit_code = 0
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    self.stderr.write(f"{name} exited with code {child.returncode}; stopping everything.")
                    exit_code = 1
                    stopping = True
            time.sleep(0.5)

        self.stdout.write("Stopping...")
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        self.stdout.write("Stopped.")
        if exit_code:
            sys.exit(exit_code)
