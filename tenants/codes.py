"""The tenants app's stable vocabulary: the error codes it raises and the audit actions it writes.

The values are part of the API's documented contract (``{"error": {"code": ...}}``) and of the
audit trail that tenants read and filter: they never change. Members read ``SUBJECT_PROBLEM``
and ``SUBJECT_VERB``.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    ACCOUNT_EXISTS = "account_exists"
    DOMAIN_TAKEN = "domain_taken"
    INVITATION_INVALID = "invitation_invalid"
    INVITATION_REQUIRED = "invitation_required"
    LANGUAGE_INVALID = "language_invalid"
    LAST_OWNER = "last_owner"
    MAINTENANCE = "maintenance"
    MEMBER_EXISTS = "already_member"
    ROLE_INVALID = "invalid_role"
    SESSION_ENDED = "session_ended"
    SLUG_INVALID = "invalid_slug"
    SLUG_RESERVED = "reserved_slug"
    SLUG_TAKEN = "slug_taken"
    TENANT_INACTIVE = "tenant_inactive"
    TWO_FACTOR_CODE_INVALID = "two_factor_code_invalid"
    TWO_FACTOR_REQUIRED = "two_factor_required"


class AuditAction(StrEnum):
    API_KEY_CREATE = "api_key.create"
    API_KEY_REVOKE = "api_key.revoke"
    DATA_EXPORT = "data.export"
    DOMAIN_CREATE = "domain.create"
    DOMAIN_UPDATE = "domain.update"
    DOMAIN_DELETE = "domain.delete"
    FEATURE_FLAG_CREATE = "feature_flag.create"
    FEATURE_FLAG_UPDATE = "feature_flag.update"
    FEATURE_FLAG_DELETE = "feature_flag.delete"
    INVITATION_ACCEPT = "invitation.accept"
    INVITATION_CREATE = "invitation.create"
    INVITATION_REVOKE = "invitation.revoke"
    MEMBERSHIP_JOIN = "membership.join"
    MEMBERSHIP_REMOVE = "membership.remove"
    MEMBERSHIP_SET = "membership.set"
    SYSTEM_CONFIG_CREATE = "system_config.create"
    SYSTEM_CONFIG_UPDATE = "system_config.update"
    SYSTEM_CONFIG_DELETE = "system_config.delete"
    TENANT_ADMIN_JUMP = "tenant.admin_jump"
    TENANT_PRIVACY_GRANTS = "tenant.privacy_grants"
    TENANT_PROVISION = "tenant.provision"
    TENANT_TWO_FACTOR_REQUIRED = "tenant.two_factor_required"
    TENANT_UPDATE = "tenant.update"
    TWO_FACTOR_ENROL = "two_factor.enrol"
    TWO_FACTOR_FAILURE = "two_factor.failure"
    TWO_FACTOR_RECOVERY_CODES = "two_factor.recovery_codes"
    TWO_FACTOR_RESET = "two_factor.reset"
    TWO_FACTOR_VERIFY = "two_factor.verify"
    USER_CREATE = "user.create"
    USER_LANGUAGE_SET = "user.language"
    USER_PASSWORD_SET = "user.password_set"
    USER_UPDATE = "user.update"
    USER_SESSION_REVOKE = "user_session.revoke"
