"""Click tracking (opt-in per tenant: ``EngagementSettings.track_clicks``) and what a campaign
brought back.

- **Clicks.** When the tenant opts in, the links in a marketing e-mail's text are rewritten to
  ``/engagement/c/<token>/`` on the tenant's host; the token is signed and names the message and
  the original address, so the redirect goes only where the message pointed (never an open
  redirect) and a forged token is a 404. The first click stamps ``clicked_at``; each adds to
  ``click_count``. The unsubscribe and confirmation links are left alone. Opens are not tracked:
  the e-mails are plain text (no pixel to load); WhatsApp's ``read`` status stands for them.
  Mail scanners that follow links count as clicks, as at every provider.
- **Results** (``engagement.selectors.campaign_results``): counts by status, clicks, unsubscribes that followed the
  message on its channel, and the attributed revenue: counted sales (the tenant's counted-sale
  statuses) of the recipients within ``attribution_days`` after their message was sent, each order
  once, summed per currency.
"""

from __future__ import annotations

import re

from django.core import signing
from django.db import connection
from django.db.models import F
from django.utils import timezone

from cdp.exceptions import NotFound
from engagement.models import Notification
from engagement.services.common import public_url

SALT = "engagement.click"
URL = re.compile(r"https?://[^\s<>\"')\]]+")


def click_token(notification_id: int, url: str) -> str:
    return signing.dumps({"s": connection.schema_name, "n": int(notification_id), "u": url}, salt=SALT,
                         compress=True)


def tracked_text(text: str, *, notification_id: int, keep: tuple[str, ...] = ()) -> str:
    """``text`` with each http(s) link, except those in ``keep``, pointing at its tracked redirect."""
    def replace(match: re.Match) -> str:
        url = match.group(0).rstrip(".,;:!?")
        tail = match.group(0)[len(url):]
        if url in keep or not url:
            return match.group(0)
        return public_url("engagement:click", click_token(notification_id, url)) + tail
    return URL.sub(replace, text or "")


def notification_click(*, token: str) -> str:
    """Count a click on a tracked link and return where it goes; ``NotFound`` for a forged,
    altered or other tenant's token, or a message that no longer exists."""
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        data = None
    if not isinstance(data, dict) or data.get("s") != connection.schema_name or \
            not str(data.get("u") or "").startswith(("http://", "https://")):
        raise NotFound("This link is not valid.")
    now = timezone.now()
    updated = Notification.objects.filter(pk=data.get("n")).update(click_count=F("click_count") + 1)
    if not updated:
        raise NotFound("This link is not valid.")
    Notification.objects.filter(pk=data["n"], clicked_at__isnull=True).update(clicked_at=now)
    return data["u"]
