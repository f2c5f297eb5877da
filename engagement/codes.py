"""The engagement app's stable vocabulary: error codes and audit actions (values never change)."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    CAMPAIGN_NOT_DRAFT = "campaign_not_draft"
    CHANNEL_NOT_CONFIGURED = "channel_not_configured"
    TEMPLATE_INVALID = "template_invalid"
    TEMPLATE_VARIABLE_UNKNOWN = "template_variable_unknown"
    WEBHOOK_SIGNATURE_INVALID = "webhook_signature_invalid"


class AuditAction(StrEnum):
    CAMPAIGN_CREATE = "campaign.create"
    CAMPAIGN_SEND = "campaign.send"
    TEMPLATE_CREATE = "message_template.create"
    TEMPLATE_VERSION = "message_template.version"
    TRIGGER_RULE_CREATE = "trigger_rule.create"
    AUDIENCE_DESTINATION_CREATE = "audience_destination.create"
    AUDIENCE_SYNC = "audience_destination.sync"


class SuppressionReason(StrEnum):
    """Why a notification was not sent (``Notification.error`` of a suppressed one)."""

    NO_CONSENT = "no_consent"
    NO_ADDRESS = "no_address"
