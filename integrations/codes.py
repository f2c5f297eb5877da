"""Integrations' stable vocabulary: the error codes it raises (also the ``error_code`` of a failed
sync in its log) and the audit actions it records.

The values are the API's documented contract (clients and tests read them): a member may be
renamed, its value never changes. New codes are written ``subject_problem``."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    # configuration
    INTEGRATION_EXISTS = "integration_exists"
    INTEGRATION_INACTIVE = "integration_inactive"
    CREDENTIALS_REQUIRED = "credentials_required"  # where they are sent changed: enter them again
    CREDENTIALS_MISSING = "credentials_missing"
    CONFIG_MISSING = "config_missing"
    # syncs
    SYNC_RUNNING = "sync_running"
    SYNC_NOT_SUPPORTED = "sync_not_supported"
    SYNC_LEASE_LOST = "sync_lease_lost"
    SYNC_INTERRUPTED = "interrupted"  # its worker stopped; the next sync resumed
    TENANT_SYNCS_BUSY = "tenant_syncs_busy"
    INTERNAL_ERROR = "internal_error"  # a sync crashed on something that is not a refusal
    # the source's answers (``integrations.http``)
    SOURCE_ERROR = "source_error"
    SOURCE_AUTH_FAILED = "source_auth_failed"
    SOURCE_RATE_LIMITED = "source_rate_limited"
    SOURCE_UNAVAILABLE = "source_unavailable"
    SOURCE_TIMEOUT = "source_timeout"
    SOURCE_BAD_RESPONSE = "source_bad_response"
    # inbound hooks
    HOOK_REFUSED = "hook_refused"
    HOOK_PAYLOAD_INVALID = "invalid_hook_payload"
    TENANT_INACTIVE = "tenant_inactive"
    # outgoing webhooks
    EVENT_UNKNOWN = "unknown_event"
    ENDPOINT_DISABLED = "endpoint_disabled"


class AuditAction(StrEnum):
    INTEGRATION_CREATE = "integration.create"
    INTEGRATION_UPDATE = "integration.update"
    INTEGRATION_DELETE = "integration.delete"
    INTEGRATION_PURGE = "integration.purge"
    INTEGRATION_RESTORE = "integration.restore"
    INTEGRATION_SYNC_REQUESTED = "integration.sync_requested"
    WEBHOOK_ENDPOINT_CREATE = "webhook_endpoint.create"
    WEBHOOK_ENDPOINT_UPDATE = "webhook_endpoint.update"
    WEBHOOK_ENDPOINT_DELETE = "webhook_endpoint.delete"
    WEBHOOK_ENDPOINT_PURGE = "webhook_endpoint.purge"
    WEBHOOK_ENDPOINT_RESTORE = "webhook_endpoint.restore"
    WEBHOOK_ENDPOINT_PING = "webhook_endpoint.ping"
    WEBHOOK_DELIVERY_REDELIVER = "webhook_delivery.redeliver"
