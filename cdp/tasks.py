"""Celery discovers ``<app>.tasks``; the core's tasks live in cdp/ops/tasks.py."""

from cdp.ops.tasks import backup_task, retention_public_task, retention_tenant_task  # noqa: F401
