"""Export approval (issue #21 item 4): a bulk export of personal data above the tenant's threshold
needs a second person's approval; the request, the decision and every download are audited, and
an approved export can be downloaded only by its requester, only until it expires.

Only people approve (an API key is not a second person), never their own request, and only while
holding ``export`` (the interfaces check it; the service checks the actor's authority itself).
"""

from __future__ import annotations

import datetime

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics import conf
from analytics.codes import AuditAction, ErrorCode
from analytics.models import ExportRequest, Segment, SegmentMembership
from cdp.context import Actor
from cdp.exceptions import ApplicationError, Conflict, PermissionDenied
from cdp.ids import get_or_not_found
from tenants.roles import EXPORT
from tenants.services import audit_record
from tenants.services.authz import actor_authority


def export_approval_threshold(tenant) -> int:
    """Rows above which an export needs approval: the tenant's ``export_approval_rows`` or the default."""
    value = (getattr(tenant, "settings", None) or {}).get("export_approval_rows")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return int(conf.get("ANALYTICS_EXPORT_APPROVAL_ROWS"))


def segment_export_rows(segment: Segment) -> int:
    return SegmentMembership.objects.filter(segment=segment).count()


def _holds_export(actor: Actor) -> None:
    if EXPORT not in actor_authority(actor=actor, tenant=connection.tenant).capabilities:
        raise PermissionDenied(_("Exporting personal data needs the export capability."))


@transaction.atomic
def export_request_create(*, segment_id, actor: Actor, reason: str = "") -> ExportRequest:
    """Ask for a segment's export (needs ``export``); audited with its row count."""
    _holds_export(actor)
    segment = get_or_not_found(Segment, segment_id, _("No such segment."))
    request = ExportRequest.objects.create(
        segment=segment, rows=segment_export_rows(segment), reason=(reason or "")[:255],
        requested_by_id=actor.user_id, requested_by=actor.label[:255])
    audit_record(actor=actor, action=AuditAction.EXPORT_REQUEST, resource_type="export_request",
                 resource_id=request.pk, tenant=connection.tenant,
                 changes={"segment": segment.pk, "rows": request.rows, "reason": request.reason})
    return request


def _decide(*, request_id, actor: Actor, approve: bool, note: str) -> ExportRequest:
    _holds_export(actor)
    request = get_or_not_found(ExportRequest, request_id, _("No such export request."), lock=True)
    if actor.user_id is None:
        raise PermissionDenied(_("Only a person can approve or reject an export."),
                               code=ErrorCode.EXPORT_SELF_APPROVAL)
    if request.requested_by_id is not None and request.requested_by_id == actor.user_id:
        raise PermissionDenied(_("A second person must decide on your own export request."),
                               code=ErrorCode.EXPORT_SELF_APPROVAL)
    if request.status != ExportRequest.Status.PENDING:
        raise Conflict(_("This export request was already decided."), code=ErrorCode.EXPORT_DECIDED)
    now = timezone.now()
    request.status = ExportRequest.Status.APPROVED if approve else ExportRequest.Status.REJECTED
    request.decided_by_id, request.decided_by, request.decided_at = actor.user_id, actor.label[:255], now
    request.decision_note = (note or "")[:255]
    if approve:
        request.expires_at = now + datetime.timedelta(hours=int(conf.get("ANALYTICS_EXPORT_DOWNLOAD_HOURS")))
    request.save()
    audit_record(actor=actor, action=AuditAction.EXPORT_APPROVE if approve else AuditAction.EXPORT_REJECT,
                 resource_type="export_request", resource_id=request.pk, tenant=connection.tenant,
                 changes={"status": request.status, "note": request.decision_note,
                          "expires_at": request.expires_at.isoformat() if request.expires_at else None})
    return request


@transaction.atomic
def export_request_approve(*, request_id, actor: Actor, note: str = "") -> ExportRequest:
    """Approve another person's pending request; it can be downloaded until ``expires_at``."""
    return _decide(request_id=request_id, actor=actor, approve=True, note=note)


@transaction.atomic
def export_request_reject(*, request_id, actor: Actor, note: str = "") -> ExportRequest:
    return _decide(request_id=request_id, actor=actor, approve=False, note=note)


@transaction.atomic
def export_download_start(*, request_id, actor: Actor) -> ExportRequest:
    """Check that ``actor`` may download now (the requester, approved, not expired), count the
    download and audit it. Returns the request; the interface streams the file."""
    _holds_export(actor)
    request = get_or_not_found(ExportRequest, request_id, _("No such export request."), lock=True)
    if request.requested_by_id != actor.user_id or request.requested_by != actor.label[:255]:
        raise PermissionDenied(_("Only the person who requested this export can download it."))
    if request.status != ExportRequest.Status.APPROVED:
        raise PermissionDenied(_("This export has not been approved."), code=ErrorCode.EXPORT_NOT_APPROVED)
    now = timezone.now()
    if request.expires_at is None or request.expires_at <= now:
        raise PermissionDenied(_("This export's download has expired; request it again."),
                               code=ErrorCode.EXPORT_EXPIRED)
    request.downloads += 1
    request.last_downloaded_at = now
    request.save(update_fields=["downloads", "last_downloaded_at", "updated_at"])
    audit_record(actor=actor, action=AuditAction.EXPORT_DOWNLOAD, resource_type="export_request",
                 resource_id=request.pk, tenant=connection.tenant,
                 changes={"segment": request.segment_id, "download": request.downloads})
    return request


def export_needs_approval(*, rows: int, tenant) -> bool:
    return rows > export_approval_threshold(tenant)


def export_approval_refusal(*, rows: int) -> ApplicationError:
    return PermissionDenied(
        _("This export holds %(rows)s people: above the approval threshold it needs a second person's "
          "approval. Request it with POST /api/v1/analytics/exports/.") % {"rows": rows},
        code=ErrorCode.EXPORT_APPROVAL_REQUIRED)


def export_guard(*, rows: int, tenant) -> None:
    """The customer list's export obeys the same approval threshold as a segment's
    (``customers.registry.register_export_guard``); approved exports are of segments, so a list
    above the threshold is saved as a segment and requested there."""
    if export_needs_approval(rows=rows, tenant=tenant):
        raise export_approval_refusal(rows=rows)
