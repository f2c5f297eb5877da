"""Every write of the integrations app (re-exported per topic). Reads are in
``integrations.selectors``; the signing scheme in ``integrations.signing``."""

from integrations.services.hooks import vtex_hook_receive, vtex_order_fetch
from integrations.services.integrations import (
    credentials_rotate_all,
    integration_create,
    integration_credentials,
    integration_delete,
    integration_restore,
    integration_update,
    integrations_purge,
)
from integrations.services.sync import integration_sync, integration_sync_request, integrations_sync_due
from integrations.services.webhooks import (
    WEBHOOK_EVENTS,
    webhook_delivery_attempt,
    webhook_emit,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_restore,
    webhook_endpoint_update,
    webhook_ping,
    webhook_redeliver,
)
from integrations.signing import webhook_sign, webhook_signature_verify

__all__ = [
    "WEBHOOK_EVENTS", "credentials_rotate_all", "integration_create", "integration_credentials",
    "integration_delete", "integration_sync", "integration_sync_request", "integration_update",
    "integrations_sync_due", "vtex_hook_receive", "vtex_order_fetch", "webhook_delivery_attempt",
    "webhook_emit", "webhook_endpoint_create", "webhook_endpoint_delete", "webhook_endpoint_update", "webhook_ping",
    "webhook_redeliver", "webhook_sign", "webhook_signature_verify", "integration_restore", "integrations_purge",
    "webhook_endpoint_restore",
]
