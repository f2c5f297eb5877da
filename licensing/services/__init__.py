"""Every write to plans, licenses, machines, releases and ownership goes through these services."""

from licensing.services.files import license_file_issue, license_file_verify
from licensing.services.licenses import (
    IssuedLicense,
    license_expire_due,
    license_issue,
    license_reinstate,
    license_suspend,
    license_update,
    machine_ban,
    machine_bind,
    machine_release,
    machine_unban,
    plan_update,
)
from licensing.services.releases import (
    asset_grant,
    asset_revoke,
    product_create,
    product_update,
    release_create,
    release_download,
    release_update,
)
from licensing.services.usage import (
    ai_requests_record,
    api_call_meter,
    license_quota_guard,
    usage_warnings_check,
)
from licensing.services.validation import (
    collision_record,
    collision_resolve,
    license_validate,
    validation_body,
    validation_log_flush,
)

__all__ = [
    "IssuedLicense",
    "ai_requests_record",
    "api_call_meter",
    "asset_grant",
    "asset_revoke",
    "collision_record",
    "collision_resolve",
    "license_expire_due",
    "license_file_issue",
    "license_file_verify",
    "license_issue",
    "license_quota_guard",
    "license_reinstate",
    "license_suspend",
    "license_update",
    "license_validate",
    "machine_ban",
    "machine_bind",
    "machine_release",
    "machine_unban",
    "plan_update",
    "product_create",
    "product_update",
    "release_create",
    "release_download",
    "release_update",
    "usage_warnings_check",
    "validation_body",
    "validation_log_flush",
]
