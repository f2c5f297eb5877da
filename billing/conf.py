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
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])


def stripe_secret_key() -> str:
    """Never stored in the database or settings files: ``CDP_STRIPE_SECRET_KEY`` in the environment."""
    return os.environ.get("CDP_STRIPE_SECRET_KEY", "")
