"""``cdp.tasks.enqueue``: a service names a task instead of importing its app's tasks module."""

from __future__ import annotations

import sys

from celery import current_app

from cdp.tasks import enqueue

NAME = "tests.cdp.enqueue_tasks.echo_task"


def test_a_task_whose_module_no_one_imported_is_found_by_its_name():
    # given a tasks module that is not imported (a web process imports none of its own accord)
    sys.modules.pop("tests.cdp.enqueue_tasks", None)
    current_app.tasks.pop(NAME, None)
    # when a service enqueues it by name, then it runs (eagerly in tests)
    assert enqueue(NAME, value=3).get() == 3


def test_the_task_is_called_as_a_caller_importing_it_would(monkeypatch):
    from tests.cdp.enqueue_tasks import echo_task

    calls = []
    monkeypatch.setattr(echo_task, "delay", lambda *a, **k: calls.append(("delay", a, k)))
    monkeypatch.setattr(echo_task, "apply_async", lambda *a, **k: calls.append(("apply_async", a, k)))
    enqueue(NAME, value=1)
    enqueue(NAME, options={"countdown": 5}, value=2)
    enqueue(NAME, options={"headers": {"_schema_name": "alpha"}})
    assert calls == [("delay", (), {"value": 1}),
                     ("apply_async", (), {"kwargs": {"value": 2}, "countdown": 5}),
                     ("apply_async", (), {"headers": {"_schema_name": "alpha"}})]
