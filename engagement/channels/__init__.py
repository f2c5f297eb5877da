"""The channels a notification goes out on, each over its provider's real wire format:
``email`` (SMTP through Django's backend), ``whatsapp`` (WhatsApp Business Cloud API template
messages) and ``sms`` (Twilio's Messages API). Each ``send(message)`` returns the provider's id
or raises ``TransientError`` (try again later: rate limits, 5xx, a dropped connection) or
``PermanentError`` (never retry: a refused address, a rejected template)."""

from __future__ import annotations

from engagement.channels import email, sms, whatsapp
from engagement.channels.base import OutboundMessage, PermanentError, TransientError

SENDERS = {"email": email.send, "whatsapp": whatsapp.send, "sms": sms.send}


def channel_send(channel: str, message: OutboundMessage) -> str:
    """Send ``message`` on ``channel``; the provider's message id."""
    return SENDERS[channel](message)


__all__ = ["OutboundMessage", "PermanentError", "TransientError", "channel_send"]
