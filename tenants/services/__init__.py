"""Every write to tenants, users, keys, flags and the audit trail goes through these services."""

from tenants.services.api_keys import api_key_authenticate, api_key_create, api_key_revoke
from tenants.services.audit import actor_from_request, audit_record, audit_redact, changes_between
from tenants.services.flags import feature_flag_is_enabled
from tenants.services.memberships import membership_remove, membership_set, user_create
from tenants.services.provisioning import tenant_provision, tenant_update

__all__ = [
    "actor_from_request",
    "api_key_authenticate",
    "api_key_create",
    "api_key_revoke",
    "audit_record",
    "audit_redact",
    "changes_between",
    "feature_flag_is_enabled",
    "membership_remove",
    "membership_set",
    "tenant_provision",
    "tenant_update",
    "user_create",
]
