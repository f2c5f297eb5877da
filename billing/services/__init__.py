"""Every write in billing goes through these services, one module per topic:

- ``catalog``: categories, products, tax rates, coupons, gateways, reviews (and the demo catalog);
- ``checkout``: a cart priced, its order written, a paid order finalized;
- ``payments``: taking the money (intent, charge, settle, compensate) and the reconciler;
- ``callbacks``: the gateways' asynchronous results;
- ``invoices``: invoices and credit notes; ``refunds``: refunding a paid order;
- ``payment_methods``: gateways and saved cards;
- ``entitlements``: what an order grants (subscription, licenses) and takes back;
- ``subscriptions``: renewals, dunning, cancellation, plan changes;
- ``idempotency``: client Idempotency-Keys.

Imports run one way (entitlements <- checkout <- payments <- callbacks, subscriptions), so no
module imports another lazily to dodge a cycle.
"""

from billing.services.callbacks import payment_callback_apply
from billing.services.catalog import (
    catalog_demo_load,
    category_create,
    category_delete,
    category_update,
    coupon_create,
    coupon_update,
    payment_gateway_create,
    payment_gateway_update,
    product_create,
    product_update,
    review_create,
    review_update,
    tax_rate_create,
    tax_rate_update,
)
from billing.services.checkout import CheckoutResult, coupon_resolve, order_finalize, order_quote
from billing.services.entitlements import add_interval
from billing.services.errors import CouponInvalid, PaymentDeclined, PaymentReversed
from billing.services.idempotency import (
    IdempotencyConflict,
    IdempotentAnswer,
    idempotency_prune,
    idempotent_run,
)
from billing.services.invoices import invoice_issue
from billing.services.payment_methods import payment_method_add, payment_method_delete, payment_method_save
from billing.services.payments import order_checkout, order_pay, order_payment_retry, payments_reconcile
from billing.services.refunds import order_refund
from billing.services.subscriptions import (
    billing_cycle_run,
    proration_quote,
    subscription_cancel,
    subscription_change_plan,
    subscription_charge,
    subscription_dunning_step,
    subscription_payment_retry,
)

__all__ = [
    "CheckoutResult", "CouponInvalid", "IdempotencyConflict", "IdempotentAnswer", "PaymentDeclined",
    "PaymentReversed", "add_interval", "billing_cycle_run", "catalog_demo_load", "category_create",
    "category_delete", "category_update", "coupon_create", "coupon_resolve", "coupon_update", "idempotency_prune",
    "idempotent_run", "invoice_issue", "order_checkout", "order_finalize", "order_pay", "order_payment_retry",
    "order_quote", "order_refund", "payment_callback_apply", "payment_gateway_create", "payment_gateway_update",
    "payment_method_add", "payment_method_delete", "payment_method_save", "payments_reconcile", "product_create",
    "product_update", "proration_quote", "review_create", "review_update", "subscription_cancel",
    "subscription_change_plan", "subscription_charge", "subscription_dunning_step", "subscription_payment_retry",
    "tax_rate_create", "tax_rate_update",
]
