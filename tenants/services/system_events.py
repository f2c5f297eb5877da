"""System events (seed 004): deployments, migrations, configuration changes and unhandled errors.

Recording never raises: monitoring must not turn one failure into two. A write the database refuses
(the connection is inside a transaction that already failed, the table is missing during the very
first migration) is logged and dropped. Error reports keep no personal data: messages are masked
(``cdp.redact.personal_redact``), paths lose their query strings, and no local variable is kept.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import traceback
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from cdp.ops.logs import current_request_id
from cdp.redact import personal_redact
from tenants.models import SystemEvent, Tenant, User

logger = logging.getLogger(__name__)

ROOT = Path(settings.BASE_DIR).resolve()
DETAIL_MAX = 4000
FRAMES_KEPT = 12


def _tenant_of_connection() -> Tenant | None:
    tenant = getattr(connection, "tenant", None)
    return tenant if isinstance(tenant, Tenant) and tenant.schema_name != "public" else None


def _user_of(request) -> User | None:
    user = getattr(request, "user", None) if request is not None else None
    return user if isinstance(user, User) and user.is_authenticated else None


def system_event_record(*, kind: str, title: str, level: str = SystemEvent.Level.INFO, detail: str = "",
                        fingerprint: str = "", tenant: Tenant | None = None, user: User | None = None,
                        request=None) -> SystemEvent | None:
    """Record one event (the tenant, user and request id of the current request when not given);
    returns it, or None when the database could not take it (logged). ``title`` and ``detail`` are
    kept as given: text from outside (an error's message) is masked by the caller."""
    if connection.in_atomic_block and connection.needs_rollback:
        logger.warning("System event not recorded (the transaction failed): %s %s", kind, title)
        return None
    event = SystemEvent(
        kind=kind, level=level, title=title[:255], detail=detail[:DETAIL_MAX],
        fingerprint=fingerprint, tenant=tenant or _tenant_of_connection(), user=user or _user_of(request),
        request_id=(current_request_id() or "")[:64], release=settings.CDP_RELEASE[:64],
        method=(getattr(request, "method", "") or "")[:8], path=(getattr(request, "path", "") or "")[:255])
    try:
        with transaction.atomic():
            event.save()
    except Exception:  # noqa: BLE001 - whatever failed (database, connection), the caller goes on
        logger.warning("System event not recorded: %s %s", kind, title, exc_info=True)
        return None
    return event


def _project_frames(exc: BaseException) -> list[tuple[Path, traceback.FrameSummary]]:
    """The traceback's frames in the project's own code (not the libraries', not the venv's), each
    with its file relative to the project."""
    frames = []
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename).resolve()
        if path.is_relative_to(ROOT) and ".venv" not in path.parts and "site-packages" not in path.parts:
            frames.append((path.relative_to(ROOT), frame))
    return frames


def error_record(*, exc: BaseException, request=None, task_name: str = "") -> SystemEvent | None:
    """Record an unhandled error of a request or a task: its type and where it happened, the
    masked message and the project frames of its traceback (files, lines, functions; no values).

    Errors with one cause share a fingerprint: the exception's type and the innermost project
    function it passed through (not the message, which carries values, nor line numbers, which
    move)."""
    frames = _project_frames(exc)
    if frames:
        path, frame = frames[-1]
        where = f"{path.with_suffix('').as_posix().replace('/', '.')}.{frame.name}"
    else:
        where = "(library code)"
    kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
    title = f"{type(exc).__name__} in {where}" + (f" (task {task_name})" if task_name else "")
    trace = "".join(f"  {path}:{frame.lineno} in {frame.name}\n" for path, frame in frames[-FRAMES_KEPT:])
    return system_event_record(kind=SystemEvent.Kind.ERROR, level=SystemEvent.Level.ERROR,
                               title=personal_redact(title), detail=personal_redact(f"{kind}: {exc}\n{trace}"),
                               fingerprint=hashlib.sha256(f"{kind}@{where}".encode()).hexdigest(), request=request)


def deployment_record(*, release: str | None = None) -> SystemEvent | None:
    """A deployment: recorded when the running release differs from the last one recorded (a
    restart of the same release is not a deployment)."""
    release = (release or settings.CDP_RELEASE)[:64]
    try:
        last = SystemEvent.objects.filter(kind=SystemEvent.Kind.DEPLOYMENT).order_by("-created_at", "-id").first()
    except Exception:  # noqa: BLE001 - e.g. the table is not there yet
        logger.warning("Deployment of %s not recorded", release, exc_info=True)
        return None
    if last is not None and last.release == release:
        return None
    previous = f" (was {last.release})" if last is not None else ""
    return system_event_record(kind=SystemEvent.Kind.DEPLOYMENT, title=f"Release {release} started{previous}",
                               tenant=None)


def migration_record(*, applied: list[str], schema: str) -> SystemEvent | None:
    """Migrations applied to one schema (the platform's, or a tenant's)."""
    if not applied:
        return None
    try:
        tenant = Tenant.objects.filter(schema_name=schema).exclude(schema_name="public").first()
    except Exception:  # noqa: BLE001 - e.g. migrating the tenants table itself away
        logger.warning("Migrations of %s not recorded", schema, exc_info=True)
        return None
    where = f"tenant {tenant.slug}" if tenant is not None else f"schema {schema}"
    return system_event_record(kind=SystemEvent.Kind.MIGRATION, title=f"{len(applied)} migrations applied to {where}",
                               detail="\n".join(applied), tenant=tenant)


def config_change_record(*, what: str, key: str, deleted: bool = False) -> SystemEvent | None:
    """A platform setting or feature flag changed (who changed it is in the audit trail)."""
    verb = "deleted" if deleted else "changed"
    return system_event_record(kind=SystemEvent.Kind.CONFIG_CHANGE, level=SystemEvent.Level.WARNING,
                               title=f"{what} '{key}' {verb}", tenant=None)


def system_events_scrub(*, tenant: Tenant, matches) -> int:
    """Erasure: mask the events of ``tenant`` whose title or detail still mention the person
    (``matches(text)``: the erasure's own matcher). Returns how many were changed."""
    changed = 0
    events = SystemEvent.objects.filter(tenant=tenant, kind=SystemEvent.Kind.ERROR)
    for event in events.only("pk", "title", "detail").iterator():
        if matches(event.title) or matches(event.detail):
            SystemEvent.objects.filter(pk=event.pk).update(title="[erased]", detail="")
            changed += 1
    return changed


def system_events_prune(*, now: datetime.datetime | None = None) -> int:
    """Delete events older than the retention period; returns how many."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.CDP_SYSTEM_EVENT_RETENTION_DAYS)
    deleted, _ = SystemEvent.objects.filter(created_at__lt=cutoff).delete()
    return deleted
