"""Enqueue a task by its name, so a service never imports its app's tasks module.

Tasks import services at the top (ids in, a service call); services enqueue work by name. With
imports in both directions there would be a cycle, hidden until now by function-level imports.
``tenant_schemas_celery`` adds the current schema to the message, so the task runs in the tenant it
was enqueued from. Looking the task up in the app's registry (rather than ``send_task``) keeps
``CELERY_TASK_ALWAYS_EAGER`` working in tests."""

from __future__ import annotations

import importlib

from celery import current_app
from celery.exceptions import NotRegistered
from django.db import transaction


def enqueue(name: str, /, *, options: dict | None = None, **kwargs):
    """Send task ``name`` (its dotted name, e.g. ``"integrations.tasks.integration_sync_task"``) with
    keyword arguments ``kwargs``; ``options`` go to ``apply_async`` (countdown, queue...).

    The call is the one a caller importing the task would make (``task.delay(**kwargs)``, or
    ``apply_async`` with only what was given), so whatever watches a task's ``delay`` or
    ``apply_async`` (a test's stand-in for the broker, instrumentation) sees the same call."""
    task = task_by_name(name)
    if not options:
        return task.delay(**kwargs)
    return task.apply_async(**({"kwargs": kwargs} if kwargs else {}), **options)


def task_by_name(name: str):
    """The registered task ``name``, importing its module first when no one has yet (a web process
    imports no tasks module of its own accord; the worker's autodiscovery does)."""
    try:
        return current_app.tasks[name]
    except NotRegistered:
        importlib.import_module(name.rpartition(".")[0])
        return current_app.tasks[name]


def enqueue_on_commit(name: str, /, *, options: dict | None = None, **kwargs) -> None:
    """``enqueue`` once the current transaction commits (never for a rolled-back write)."""
    transaction.on_commit(lambda: enqueue(name, options=options, **kwargs))
