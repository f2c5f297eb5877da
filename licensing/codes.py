"""The licensing app's stable vocabulary: error codes, validation answers and audit actions.

The values are documented API contract (``{"error": {"code": ...}}``, ``meta.code`` of a
validation answer) and audit trail: they never change.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    API_QUOTA_EXCEEDED = "api_quota_exceeded"
    FILE_EXPIRED = "file_expired"
    FILE_MALFORMED = "malformed"
    FILE_SIGNATURE_INVALID = "bad_signature"
    LICENSE_CANCELLED = "license_cancelled"
    LICENSE_INACTIVE = "license_inactive"
    LICENSE_NOT_SUSPENDED = "license_not_suspended"
    LICENSE_REQUIRED = "license_required"
    RELEASE_EXISTS = "release_exists"


class ValidationCode(StrEnum):
    """Every answer ``meta.code`` of ``POST /api/v1/licenses/validate`` can carry."""

    VALID = "VALID"
    NOT_FOUND = "NOT_FOUND"
    SUSPENDED = "SUSPENDED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"
    TOO_MANY_MACHINES = "TOO_MANY_MACHINES"
    FINGERPRINT_SCOPE_REQUIRED = "FINGERPRINT_SCOPE_REQUIRED"
    BANNED = "BANNED"
    RATE_LIMITED = "RATE_LIMITED"


class AuditAction(StrEnum):
    ASSET_GRANT = "asset.grant"
    ASSET_REVOKE = "asset.revoke"
    COLLISION_RESOLVE = "collision.resolve"
    LICENSE_AI_REQUESTS = "license.ai_requests"
    LICENSE_COLLISION = "license.collision"
    LICENSE_EXPIRE = "license.expire"
    LICENSE_FILE_ISSUE = "license.file_issue"
    LICENSE_ISSUE = "license.issue"
    LICENSE_REINSTATE = "license.reinstate"
    LICENSE_SUSPEND = "license.suspend"
    LICENSE_UPDATE = "license.update"
    LICENSE_USAGE_WARNING = "license.usage_warning"
    MACHINE_BAN = "machine.ban"
    MACHINE_BIND = "machine.bind"
    MACHINE_RELEASE = "machine.release"
    MACHINE_UNBAN = "machine.unban"
    PLAN_UPDATE = "plan.update"
    PRODUCT_CREATE = "product.create"
    PRODUCT_UPDATE = "product.update"
    RELEASE_CREATE = "release.create"
    RELEASE_DOWNLOAD = "release.download"
    RELEASE_UPDATE = "release.update"
