"""Billing settings (``cdp.conf.AppSettings``): a Django setting of the same name, else the default
below. The environment reaches them through the settings module, which copies every
``BILLING_*``, ``CDP_BILLING_*`` and ``CDP_STRIPE_*`` variable into a setting. Secrets are never
written in settings files: they come from the environment that way, or are generated locally."""

from __future__ import annotations

from cdp.conf import AppSettings
from cdp.secrets import local_secret

conf = AppSettings({
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
    # The Stripe-compatible gateway's API (tests point it at a local fake).
    "CDP_STRIPE_BASE_URL": "https://api.stripe.com",
    # Its secret key (environment only); empty: the stripe gateway refuses to charge.
    "CDP_STRIPE_SECRET_KEY": "",
    # HMAC secret of the gateways' callbacks (X-CDP-Signature); empty: one generated locally.
    "CDP_BILLING_CALLBACK_SECRET": "",
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
})
get = conf.get


def stripe_secret_key() -> str:
    """``CDP_STRIPE_SECRET_KEY`` (from the environment, through settings); never stored in the database."""
    return get("CDP_STRIPE_SECRET_KEY")


def callback_secret() -> bytes:
    """The key gateways sign their callbacks with: ``CDP_BILLING_CALLBACK_SECRET``, else a secret
    generated once for this machine."""
    return (get("CDP_BILLING_CALLBACK_SECRET") or local_secret("billing_callback")).encode()
