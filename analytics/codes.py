"""Analytics' stable vocabulary: the error codes it raises and the audit actions it records.

The values are the API's documented contract (clients and tests read them): a member may be
renamed, its value never changes. New codes are written ``subject_problem``."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID = "invalid"  # a field the service does not accept
    STEP_INVALID = "invalid_step"
    AS_OF_INVALID = "invalid_as_of"
    FEATURE_DISABLED = "feature_disabled"  # the tenant's plan switches the step off
    RUN_IN_PROGRESS = "run_in_progress"
    EXPORT_APPROVAL_REQUIRED = "export_approval_required"
    EXPORT_NOT_APPROVED = "export_not_approved"
    EXPORT_EXPIRED = "export_expired"
    EXPORT_SELF_APPROVAL = "export_self_approval"
    EXPORT_DECIDED = "export_already_decided"
    RULES_INVALID = "invalid_rules"
    SEGMENT_EXISTS = "segment_exists"


class AuditAction(StrEnum):
    RUN_START = "analytics.run.start"
    RFM_DEFINITION_UPDATE = "analytics.rfm_definition.update"
    SEGMENT_CREATE = "analytics.segment.create"
    SEGMENT_UPDATE = "analytics.segment.update"
    SEGMENT_DELETE = "analytics.segment.delete"
    SEGMENT_PURGE = "analytics.segment.purge"
    SEGMENT_RESTORE = "analytics.segment.restore"
    EXPORT_REQUEST = "analytics.export.request"
    EXPORT_APPROVE = "analytics.export.approve"
    EXPORT_REJECT = "analytics.export.reject"
    EXPORT_DOWNLOAD = "analytics.export.download"
