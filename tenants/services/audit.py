from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Callable

from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import timezone

from cdp.context import Actor, request_ip
from tenants.codes import AuditAction
from tenants.models import AuditLog, Tenant


def _jsonable(value):
    if isinstance(value, (datetime.date, datetime.datetime, decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    return value


def changes_between(before: dict, after: dict) -> dict:
    """``{field: [old, new]}`` for every field whose value differs."""
    keys = set(before) | set(after)
    return {
        key: [_jsonable(before.get(key)), _jsonable(after.get(key))]
        for key in sorted(keys)
        if before.get(key) != after.get(key)
    }


def audit_record(
    *,
    actor: Actor,
    action: str,
    resource_type: str,
    resource_id: object = "",
    tenant: Tenant | None = None,
    changes: dict | None = None,
) -> AuditLog:
    """Append one audit entry. Callers run it inside their own transaction, so a failed write
    leaves no entry and an entry never describes a write that did not happen."""
    return AuditLog.objects.create(
        tenant=tenant if tenant is not None and not tenant.is_public else None,
        actor_id=actor.user_id,
        actor_label=actor.label[:255],
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id or ""),
        changes=_jsonable(changes or {}),
        ip_address=actor.ip or request_ip(),
    )


def audit_retention_prune(*, tenant: Tenant, now: datetime.datetime | None = None) -> int:
    """Delete ``tenant``'s audit entries older than its ``data_retention_days`` setting; returns how
    many. The trail's only deletion besides erasure's rewrite (``audit_redact``)."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=int(tenant.setting("data_retention_days")))
    deleted, _ = AuditLog.objects.filter(tenant=tenant, created_at__lt=cutoff).delete()
    return deleted


def data_export_record(*, actor: Actor, tenant: Tenant, resource_type: str, resource_id: object, rows: int,
                       fmt: str = "csv", details: dict | None = None) -> AuditLog:
    """Record a bulk export of personal data (who, what, how many rows) as ``data.export``. Every
    interface that hands out such a file calls it before the first byte goes out."""
    with transaction.atomic():
        return audit_record(actor=actor, action=AuditAction.DATA_EXPORT, resource_type=resource_type,
                            resource_id=resource_id,
                            tenant=tenant, changes={"rows": rows, "format": fmt, **(details or {})})


def audit_redact(*, tenant: Tenant, resources: dict[str, list], scrub: Callable[[dict], dict],
                 subjects: dict[str, list] | None = None, mentioning: list[str] | tuple = (),
                 scrub_mention: Callable[[dict], dict] | None = None) -> int:
    """Rewrite the ``changes`` of ``tenant``'s audit entries about a data subject: the one way an
    entry is ever altered, for erasure (the entry stays, the personal values it quoted go).

    Entries about the subject are those about ``resources`` (``{resource_type: [ids]}``) or whose
    ``changes`` name the subject (``subjects``: ``{key: [values]}``, e.g. ``{"customer_id": [7]}``
    for the loyalty and credit entries, whose resource is an account): they are rewritten with
    ``scrub``. Any other entry of the tenant whose ``changes`` contain one of ``mentioning``
    (case-insensitive; free text such as a reason may quote a person) is rewritten with
    ``scrub_mention`` (default ``scrub``). Returns how many entries changed."""
    about = Q(pk__in=[])
    for resource_type, ids in resources.items():
        about |= Q(resource_type=resource_type, resource_id__in=[str(i) for i in ids])
    for key, values in (subjects or {}).items():
        if values:
            about |= Q(**{f"changes__{key}__in": list(values)})
    mention = Q(pk__in=[])
    for term in mentioning:
        if term:
            mention |= Q(changes__icontains=term)
    count = 0
    rows = AuditLog.objects.filter(about | mention, tenant=tenant).annotate(
        is_about=ExpressionWrapper(about, output_field=BooleanField())).only("id", "changes")
    for entry in rows:
        changes = (scrub if entry.is_about else (scrub_mention or scrub))(entry.changes)
        if changes != entry.changes:
            AuditLog.objects.filter(pk=entry.pk).update(changes=changes)
            count += 1
    return count


