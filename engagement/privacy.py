"""Export and erasure of what the engagement app keeps about a person: the address each message went to,
its rendered text and variables (a name, a voucher code), and provider errors quoting them.
Called by customers' erasure (``customers.registry``) inside its transaction. The rows stay
(status, channel, timestamps, campaign counts), so results stay true."""

from __future__ import annotations

from engagement.models import Notification, OptInRequest

#: Notification columns the export shows (the rest are internal: attempts, retry schedule).
EXPORTED = ("id", "channel", "purpose", "trigger", "status", "recipient", "subject", "body", "created_at", "sent_at",
            "delivered_at", "read_at", "failed_at", "error", "campaign_id")


def engagement_erase(*, erasure) -> int:
    """Blank the recipient, subject, body, variables and error of the person's notifications;
    queued ones become suppressed (nobody must send them now). Returns rows changed."""
    ids = list(erasure.customer_ids)
    queued = Notification.objects.filter(customer_id__in=ids, status=Notification.Status.QUEUED)
    queued.update(status=Notification.Status.SUPPRESSED, error="erased")
    changed = Notification.objects.filter(customer_id__in=ids).update(recipient="", subject="", body="", context={})
    changed += OptInRequest.objects.filter(customer_id__in=ids).update(
        request_ip=None, request_user_agent="", confirm_ip=None, confirm_user_agent="", requested_by="")
    for row in Notification.objects.filter(customer_id__in=ids).exclude(error="").exclude(error="erased") \
            .only("id", "error"):
        Notification.objects.filter(pk=row.pk).update(error=erasure.scrub_text(row.error))
    return changed


def _iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def engagement_export(*, customer_id: int) -> dict | None:
    """Export section (``customers.registry``): the messages sent to the person and their double
    opt-in requests with both proofs; None when there are none."""
    notifications = [{name: _iso(value) for name, value in row.items()}
                     for row in Notification.objects.filter(customer_id=customer_id).order_by("created_at", "id")
                     .values(*EXPORTED)]
    opt_ins = [{name: _iso(value) for name, value in row.items()}
               for row in OptInRequest.objects.filter(customer_id=customer_id).order_by("created_at", "id")
               .values("id", "channel", "purpose", "status", "source", "text_version", "requested_by", "request_ip",
                       "request_user_agent", "created_at", "confirmed_at", "confirm_ip", "confirm_user_agent")]
    if not notifications and not opt_ins:
        return None
    return {"notifications": notifications, "opt_in_requests": opt_ins}
