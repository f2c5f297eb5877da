"""What every channel takes and raises."""

from __future__ import annotations

from dataclasses import dataclass, field

import requests

from cdp.http import DeadlineExceeded, ResponseTooLarge, outbound_request
from engagement import conf


@dataclass(frozen=True)
class OutboundMessage:
    to: str
    body: str
    subject: str = ""
    language: str = "es"
    #: WhatsApp: the approved template's name and its body parameters, in order.
    template_name: str = ""
    parameters: tuple[str, ...] = ()
    #: E-mail: List-Unsubscribe target; SMS: the status callback URL.
    unsubscribe_url: str = ""
    status_callback_url: str = ""
    #: Our id of the message (idempotency and Message-ID).
    reference: str = ""
    headers: dict = field(default_factory=dict)


class ChannelError(Exception):
    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class TransientError(ChannelError):
    """Worth another attempt later (rate limit, provider down, connection dropped)."""


class PermanentError(ChannelError):
    """Another attempt would fail the same way (refused address, bad template, bad credentials)."""


def retry_after_seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def provider_call(method: str, url: str, **kwargs) -> requests.Response:
    """One provider HTTP call with the total deadline and size cap of ``cdp.http``; network
    failures become ``TransientError``. The provider's host is operator configuration, so the SSRF
    guard applies only unless private provider URLs are allowed (local fakes, a relay)."""
    trusted = bool(conf.get("ENGAGEMENT_ALLOW_PRIVATE_PROVIDER_URLS"))
    try:
        return outbound_request(method, url, deadline=float(conf.get("ENGAGEMENT_HTTP_DEADLINE")),
                                max_bytes=int(conf.get("ENGAGEMENT_HTTP_MAX_BYTES")), trusted=trusted, **kwargs)
    except (DeadlineExceeded, requests.ConnectionError, requests.Timeout) as exc:
        raise TransientError(f"{type(exc).__name__}: {exc}") from None
    except ResponseTooLarge as exc:
        raise TransientError(f"The provider's answer was larger than {exc.limit} bytes.") from None
