"""Erasure of what the engagement app keeps about a person: the address each message went to,
its rendered text and variables (a name, a voucher code), and provider errors quoting them.
Called by customers' erasure (``customers.registry``) inside its transaction. The rows stay
(status, channel, timestamps, campaign counts), so results stay true."""

from __future__ import annotations

from engagement.models import Notification


def engagement_erase(*, erasure) -> int:
    """Blank the recipient, subject, body, variables and error of the person's notifications;
    queued ones become suppressed (nobody must send them now). Returns rows changed."""
    ids = list(erasure.customer_ids)
    queued = Notification.objects.filter(customer_id__in=ids, status=Notification.Status.QUEUED)
    queued.update(status=Notification.Status.SUPPRESSED, error="erased")
    changed = Notification.objects.filter(customer_id__in=ids).update(recipient="", subject="", body="", context={})
    for row in Notification.objects.filter(customer_id__in=ids).exclude(error="").exclude(error="erased") \
            .only("id", "error"):
        Notification.objects.filter(pk=row.pk).update(error=erasure.scrub_text(row.error))
    return changed
