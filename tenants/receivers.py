"""Signal receivers: entry points like views, each calling one service and nothing else."""

from __future__ import annotations

import sys

from django.db import connection

from tenants.services.sessions import user_session_end
from tenants.services.system_events import (
    config_change_record,
    deployment_record,
    error_record,
    migration_record,
)


def on_user_logged_out(sender, request, user, **kwargs) -> None:
    """Close the session row when someone signs out (``logout()`` sends this before it flushes
    the session, so the key is still known). Already-ended rows keep their reason."""
    session = getattr(request, "session", None) if request is not None else None
    if session is not None and session.session_key:
        user_session_end(session_key=session.session_key)


def on_request_exception(sender, request=None, **kwargs) -> None:
    """An unhandled error of a request (Django sends this before rendering its 500)."""
    exc = sys.exc_info()[1]
    if exc is not None:
        error_record(exc=exc, request=request)


def on_task_failure(sender=None, exception=None, **kwargs) -> None:
    """A Celery task that failed for good (retries exhausted or none)."""
    if exception is not None:
        error_record(exc=exception, task_name=getattr(sender, "name", "") or "")


def on_post_migrate(sender, plan=None, **kwargs) -> None:
    """The migrations of one ``migrate`` run (django-tenants runs one per schema). A deployment
    migrates the platform's schema first: a new release is recorded then."""
    schema = getattr(connection, "schema_name", "public")
    applied = [f"{migration.app_label}.{migration.name}" for migration, backwards in plan or [] if not backwards]
    migration_record(applied=applied, schema=schema)
    if schema == "public":
        deployment_record()


def on_config_saved(sender, instance, **kwargs) -> None:
    config_change_record(what=sender._meta.verbose_name.capitalize(), key=instance.key)


def on_config_deleted(sender, instance, **kwargs) -> None:
    config_change_record(what=sender._meta.verbose_name.capitalize(), key=instance.key, deleted=True)
