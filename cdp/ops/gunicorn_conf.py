"""gunicorn settings for ``manage.py serve``: a worker that exits has its metric files marked dead
(prometheus-client's multiprocess mode keeps its counters, drops its gauges)."""


def child_exit(server, worker):
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
