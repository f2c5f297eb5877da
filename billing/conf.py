"""Billing settings, each with a default; secrets come from the environment only."""

from __future__ import annotations

import os

from django.conf import settings

DEFAULTS = {
    # Days after the first failed renewal on which payment is retried.
    "BILLING_DUNNING_RETRY_DAYS": (1, 3, 5),
    # Days after the first failed renewal until the license is suspended.
    "BILLING_DUNNING_GRACE_DAYS": 7,
    # Days after the first failed renewal until the subscription is cancelled (churned).
    "BILLING_DUNNING_CANCEL_DAYS": 21,
    "BILLING_INVOICE_SERIES": "INV",
    "BILLING_CREDIT_NOTE_SERIES": "CN",
    "BILLING_SELLER": {"name": "CDP Platform", "address": "Av. Corrientes 1234, Buenos Aires, AR",
                       "tax_id": "30-00000000-0"},
    # Read from the environment (a settings attribute of the same name wins, e.g. in tests).
    "CDP_STRIPE_BASE_URL": os.environ.get("CDP_STRIPE_BASE_URL", "https://api.stripe.com"),
    "BILLING_GATEWAY_TIMEOUT": 15,
    # Payment attempts left half-way are reconciled once they are this old (long enough for the
    # request that made them to have finished, and for a gateway's search index to have caught up).
    "BILLING_RECONCILE_AFTER_MINUTES": 10,
    # How far back the reconciler looks for charged-but-unfulfilled attempts.
    "BILLING_RECONCILE_WINDOW_DAYS": 30,
    # A charge still waiting for the customer (3-D Secure) this long is given up; a late success refunds.
    "BILLING_PAYMENT_ACTION_HOURS": 24,
    # Idempotency-Key answers are kept at least this long (Stripe's 24 h), then pruned.
    "BILLING_IDEMPOTENCY_TTL_HOURS": 24,
    # A request whose key is in use by another request waits this long for it, then gets 409.
    "BILLING_IDEMPOTENCY_WAIT_SECONDS": 10,
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])


def stripe_secret_key() -> str:
    """Never stored in the database or settings files: ``CDP_STRIPE_SECRET_KEY`` in the environment."""
    return os.environ.get("CDP_STRIPE_SECRET_KEY", "")
