"""gunicorn settings for ``manage.py serve``: a worker that exits has its metric files marked dead
(prometheus-client's multiprocess mode keeps its counters, drops its gauges)."""


import os

from prometheus_client import multiprocess


def child_exit(server, worker):
    # The process environment, as prometheus-client itself reads it: this is gunicorn's config
    # file (a process entry point), loaded before Django's settings.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
