"""Two Celery worker processes on different queues against one broker (issue #19 item 5): analytics
tasks run on the analytics worker, sync tasks on the syncs worker, and a task whose worker is
killed (kill -9 of its whole process group: the machine died) runs again on the other once its
visibility timeout passes (acks_late)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from cdp.ops import pgctl
from tests.ops.conftest import BASE_DIR, db_url


class Worker:
    def __init__(self, name: str, queues: str, probe_log: Path, log: Path):
        self.name = f"{name}@ops-test"
        self.log = open(log, "w")
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "cdp.settings.test", "DATABASE_URL": db_url(),
               "OPS_PROBE_LOG": str(probe_log), "CDP_CELERY_VISIBILITY_TIMEOUT": "4",
               "CDP_CELERY_RESTORE_INTERVAL": "2"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "cdp", "worker", "--queues", queues, "--hostname", self.name,
             "--concurrency", "1", "--pool", "prefork", "--include", "tests.ops.worker_probe",
             "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            cwd=BASE_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def workers(world, tmp_path, settings):
    from cdp.celery import app

    probe = tmp_path / "probe.jsonl"
    # a clean broker: nothing queued by another run
    with app.connection_for_write() as conn:
        for queue in settings.CELERY_TASK_QUEUES_NAMES:
            conn.default_channel.client.delete(queue)
    started = [Worker("analytics", "analytics,default", probe, tmp_path / "analytics.log"),
               Worker("syncs", "syncs,default", probe, tmp_path / "syncs.log")]
    try:
        pgctl.wait_for(lambda: all("ready" in Path(w.log.name).read_text() for w in started), timeout=120,
                       what="both workers")
        yield started, probe
    finally:
        for worker in started:
            worker.stop()


@pytest.mark.processes
def test_queues_route_tasks_to_their_workers_and_a_killed_workers_task_runs_on_the_other(workers):
    from cdp.celery import app

    (analytics_worker, syncs_worker), probe = workers
    by_name = {analytics_worker.name: analytics_worker, syncs_worker.name: syncs_worker}
    # when real tasks of each kind are sent for the alpha tenant
    sent = {}
    for _ in range(3):
        for name in ("analytics.tasks.analytics_nightly_task", "integrations.tasks.integrations_sync_due_task"):
            result = app.send_task(name, headers={"_schema_name": "alpha"})
            sent[result.id] = name
    pgctl.wait_for(lambda: len([e for e in _events(probe) if e["event"] == "finished" and e["id"] in sent]) == 6,
                   timeout=120, what="the routed tasks")
    # then analytics ran only on the analytics worker, syncs only on the syncs worker
    ran = {e["id"]: e for e in _events(probe) if e["event"] == "finished" and e["id"] in sent}
    for task_id, name in sent.items():
        expected = analytics_worker.name if name.startswith("analytics.") else syncs_worker.name
        assert ran[task_id]["worker"] == expected, (name, ran[task_id])
        assert ran[task_id]["queue"] == ("analytics" if name.startswith("analytics.") else "syncs")

    # when a slow task's worker dies mid-task (both listen on default)
    slow = app.send_task("ops.probe.slow", kwargs={"seconds": 6}, queue="default").id
    first = pgctl.wait_for(lambda: next((e for e in _events(probe) if e["id"] == slow), None), timeout=60,
                           what="the slow task to start")
    by_name[first["worker"]].kill()
    killed_at = time.monotonic()
    # then the other worker runs it to the end once the visibility timeout (4 s here) has passed
    done = pgctl.wait_for(lambda: next((e for e in _events(probe) if e["id"] == slow and e["event"] == "finished"),
                                       None), timeout=120, what="the redelivered task")
    assert done["worker"] != first["worker"]
    assert time.monotonic() - killed_at >= 4
    assert [e["event"] for e in _events(probe) if e["id"] == slow] == ["started", "started", "finished"]


def test_every_task_is_acks_late_or_says_why_not():
    from cdp.celery import app

    app.loader.import_default_modules()
    exempt = {"cdp.ops.tasks.backup_task"}  # a backup cut short is taken again the next day, not twice
    lazy = sorted(name for name, task in app.tasks.items()
                  if not name.startswith("celery.") and name not in exempt and not name.startswith("ops.probe")
                  and not task.acks_late)
    assert not lazy, f"tasks a dead worker would lose: {lazy} ({uuid.uuid4().hex[:0]})"
