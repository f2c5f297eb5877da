"""Enqueue a task by its name, so a service never imports its app's tasks module.

Tasks import services at the top (ids in, a service call); services enqueue work by name. With
imports in both directions there would be a cycle, hidden until now by function-level imports.
``tenant_schemas_celery`` adds the current schema to the message, so the task runs in the tenant it
was enqueued from. Looking the task up in the app's registry (rather than ``send_task``) keeps
``CELERY_TASK_ALWAYS_EAGER`` working in tests."""

from __future__ import annotations

from importlib import import_module

from celery import current_app
from django.db import transaction


def enqueue(name: str, /, *, options: dict | None = None, **kwargs):
    """Send task ``name`` (its dotted name, e.g. ``"integrations.tasks.integration_sync_task"``) with
    keyword arguments ``kwargs``; ``options`` go to ``apply_async`` (countdown, queue...)."""
    return _task(name).apply_async(kwargs=kwargs, **(options or {}))


def _task(name: str):
    # Outside a worker (web processes, tests) Celery's autodiscovery has not run: a task is
    # registered when its module is imported, so the module the name points to is imported first.
    if name not in current_app.tasks:
        import_module(name.rpartition(".")[0])
    return current_app.tasks[name]


def enqueue_on_commit(name: str, /, *, options: dict | None = None, **kwargs) -> None:
    """``enqueue`` once the current transaction commits (never for a rolled-back write)."""
    transaction.on_commit(lambda: enqueue(name, options=options, **kwargs))
