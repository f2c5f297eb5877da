"""Loaded into the test's Celery workers (``--include``): every task they start or finish is
written to ``OPS_PROBE_LOG`` (one JSON line: worker, task, id, event), and ``ops.probe.slow``
takes long enough to kill the worker running it."""

import json
import os
import time

from celery import shared_task, signals


def _record(event: str, task_id, task) -> None:
    with open(os.environ["OPS_PROBE_LOG"], "a") as handle:
        handle.write(json.dumps({"worker": task.request.hostname, "task": task.name, "id": task_id,
                                 "event": event, "pid": os.getpid(),
                                 "queue": (task.request.delivery_info or {}).get("routing_key")}) + "\n")


@signals.task_prerun.connect(weak=False)
def _started(task_id=None, task=None, **_kwargs):
    _record("started", task_id, task)


@signals.task_postrun.connect(weak=False)
def _finished(task_id=None, task=None, **_kwargs):
    _record("finished", task_id, task)


@shared_task(name="ops.probe.slow", acks_late=True)
def slow(seconds: float = 8.0) -> str:
    time.sleep(seconds)
    return "done"
