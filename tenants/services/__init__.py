"""Every write to tenants, users, keys, flags and the audit trail goes through these services."""

from tenants.services.api_keys import api_key_authenticate, api_key_create, api_key_revoke
from tenants.services.audit import (
    audit_record,
    audit_redact,
    audit_retention_prune,
    changes_between,
    data_export_record,
)
from tenants.services.domains import domain_create, domain_delete, domain_update
from tenants.services.flags import (
    feature_flag_create,
    feature_flag_delete,
    feature_flag_update,
)
from tenants.services.invitations import (
    InvitationInvalid,
    invitation_accept,
    invitation_create,
    invitation_revoke,
)
from tenants.services.memberships import (
    LastOwner,
    grantable_roles,
    membership_remove,
    membership_role_change,
    membership_set,
    user_create,
    user_password_set,
    user_update,
)
from tenants.services.provisioning import platform_tenant_ensure, tenant_provision, tenant_update
from tenants.services.sessions import (
    SessionEnded,
    django_sessions_prune,
    user_session_end,
    user_session_revoke,
    user_session_start,
    user_session_touch,
    user_sessions_cleanup,
    user_sessions_expire,
    user_sessions_messages_scrub,
    user_sessions_prune,
    user_sessions_revoke_for_user,
)
from tenants.services.system_config import system_config_create, system_config_delete, system_config_update

__all__ = [
    "InvitationInvalid",
    "LastOwner",
    "grantable_roles",
    "invitation_accept",
    "invitation_create",
    "invitation_revoke",
    "membership_role_change",
    "SessionEnded",
    "api_key_authenticate",
    "api_key_create",
    "api_key_revoke",
    "audit_record",
    "audit_redact",
    "audit_retention_prune",
    "changes_between",
    "data_export_record",
    "django_sessions_prune",
    "domain_create",
    "domain_delete",
    "domain_update",
    "feature_flag_create",
    "feature_flag_delete",
    "feature_flag_update",
    "membership_remove",
    "membership_set",
    "platform_tenant_ensure",
    "system_config_create",
    "system_config_delete",
    "system_config_update",
    "tenant_provision",
    "tenant_update",
    "user_create",
    "user_password_set",
    "user_update",
    "user_session_end",
    "user_session_revoke",
    "user_session_start",
    "user_session_touch",
    "user_sessions_cleanup",
    "user_sessions_expire",
    "user_sessions_messages_scrub",
    "user_sessions_prune",
    "user_sessions_revoke_for_user",
]
