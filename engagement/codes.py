"""The engagement app's stable vocabulary: error codes and audit actions (values never change)."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    CAMPAIGN_NOT_DRAFT = "campaign_not_draft"
    CHANNEL_NOT_CONFIGURED = "channel_not_configured"
    OPT_IN_TOKEN_INVALID = "opt_in_token_invalid"
    PROVIDER_CREDENTIALS_INVALID = "provider_credentials_invalid"
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
    OPT_IN_REQUEST = "opt_in.request"
    OPT_IN_CONFIRM = "opt_in.confirm"
    PROVIDER_CREDENTIALS_SET = "provider_credentials.set"
    PROVIDER_CREDENTIALS_REMOVE = "provider_credentials.remove"
    SETTINGS_UPDATE = "engagement_settings.update"


class SuppressionReason(StrEnum):
    """Why a notification was not sent (``Notification.error`` of a suppressed one)."""

    NO_CONSENT = "no_consent"
    NO_ADDRESS = "no_address"
    #: More marketing messages to this person on this channel in the window than the cap allows.
    FREQUENCY_CAP = "frequency_cap"
    #: The tenant's monthly send quota is used up.
    QUOTA_EXCEEDED = "quota_exceeded"
    #: Held back during the tenant's quiet hours (the message stays queued and waits; the reason is
    #: kept on it until it goes).
    QUIET_HOURS = "quiet_hours"
