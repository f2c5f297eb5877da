"""Dunning emails to a tenant's owners (sent by ``billing.tasks.billing_notify_task``)."""

from __future__ import annotations

from django.core.mail import send_mail

from billing.models import Subscription
from billing.selectors import owner_emails

SUBJECTS = {
    "payment_failed": "Payment failed for your {product} subscription",
    "suspended": "Your {product} license is suspended: payment overdue",
    "cancelled": "Your {product} subscription was cancelled",
    "recovered": "Payment received: your {product} subscription is active",
}
BODIES = {
    "payment_failed": "We could not charge your saved card for {product} ({amount} USD). We will retry; "
                      "update your payment method in the billing portal to avoid a suspension.",
    "suspended": "The payment for {product} is overdue, so its license is suspended. Pay from the billing "
                 "portal and it is reinstated at once.",
    "cancelled": "After several failed payments the {product} subscription was cancelled.",
    "recovered": "Thank you: the payment for {product} went through and your license is active.",
}


def billing_notify(*, subscription_id: int, kind: str) -> int:
    """Email the owners of the subscription's tenant about a dunning step; returns mails sent."""
    sub = Subscription.objects.select_related("tenant", "product").filter(pk=subscription_id).first()
    recipients = owner_emails(tenant=sub.tenant) if sub else []
    if not recipients or kind not in SUBJECTS:
        return 0
    values = {"product": sub.product.name, "amount": sub.price}
    return send_mail(SUBJECTS[kind].format(**values), BODIES[kind].format(**values), None, recipients)
