"""Delivery reports from the providers, verified before anything is read.

- WhatsApp (Meta): ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body, keyed with
  the app secret>``; the body is ``{"object": "whatsapp_business_account", "entry": [{"changes":
  [{"field": "messages", "value": {"statuses": [{"id": "wamid...", "status": "sent|delivered|
  read|failed", "timestamp": "1700000000", "recipient_id", "errors": [{"code", "title"}]}]}}]}]}``.
  The subscription handshake is a GET with ``hub.mode=subscribe``, ``hub.verify_token`` and
  ``hub.challenge`` (echoed back).
- Twilio: ``X-Twilio-Signature`` = base64(HMAC-SHA1(auth token, the full URL Twilio called +
  each POST parameter's name and value, sorted by name)); the form carries ``MessageSid``,
  ``MessageStatus`` (queued, sending, sent, delivered, undelivered, failed, read) and ``ErrorCode``.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac

from django.utils import timezone

from cdp.exceptions import PermissionDenied
from engagement.codes import ErrorCode
from engagement.selectors import provider_config
from engagement.services.notifications import notification_status_update

TWILIO_STATUSES = {"sent": "sent", "delivered": "delivered", "read": "read", "undelivered": "failed",
                   "failed": "failed"}


class SignatureInvalid(PermissionDenied):
    code = ErrorCode.WEBHOOK_SIGNATURE_INVALID


def whatsapp_signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def whatsapp_verify(*, body: bytes, signature: str) -> None:
    secret = provider_config("whatsapp")["app_secret"]
    if not secret or not signature or not hmac.compare_digest(whatsapp_signature(body, secret), signature):
        raise SignatureInvalid("The X-Hub-Signature-256 signature does not match.")


def whatsapp_challenge(*, mode: str, token: str, challenge: str) -> str:
    """The ``hub.challenge`` to echo when the verify token matches; refused otherwise."""
    expected = provider_config("whatsapp")["verify_token"]
    if mode != "subscribe" or not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise SignatureInvalid("The verify token does not match.")
    return challenge


def _when(timestamp) -> datetime.datetime:
    try:
        return datetime.datetime.fromtimestamp(int(timestamp), tz=datetime.UTC)
    except (TypeError, ValueError, OverflowError):
        return timezone.now()


def whatsapp_statuses_apply(*, payload) -> int:
    """Apply every status of a verified WhatsApp webhook body; returns how many matched a message."""
    applied = 0
    entries = payload.get("entry") if isinstance(payload, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        for change in (entry.get("changes") or []) if isinstance(entry, dict) else []:
            value = change.get("value") if isinstance(change, dict) else None
            for status in (value.get("statuses") or []) if isinstance(value, dict) else []:
                if not isinstance(status, dict):
                    continue
                errors = status.get("errors") or []
                error = "; ".join(f"{e.get('code')}: {e.get('title') or e.get('message') or ''}"
                                  for e in errors if isinstance(e, dict))
                if notification_status_update(channel="whatsapp", provider_message_id=str(status.get("id") or ""),
                                              status=str(status.get("status") or ""), error=error[:1000],
                                              at=_when(status.get("timestamp"))):
                    applied += 1
    return applied


def twilio_signature(url: str, params: dict, token: str) -> str:
    data = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def twilio_status_apply(*, url: str, params: dict, signature: str) -> bool:
    """Verify and apply one Twilio status callback; True when it matched a message."""
    token = provider_config("twilio")["auth_token"]
    if not token or not signature or not hmac.compare_digest(twilio_signature(url, params, token), signature):
        raise SignatureInvalid("The X-Twilio-Signature signature does not match.")
    status = TWILIO_STATUSES.get(params.get("MessageStatus", ""))
    if status is None:  # queued, sending, accepted...: nothing new for us
        return False
    error = f"Twilio error {params['ErrorCode']}" if params.get("ErrorCode") else ""
    return notification_status_update(channel="sms", provider_message_id=params.get("MessageSid", ""),
                                      status=status, error=error) is not None
