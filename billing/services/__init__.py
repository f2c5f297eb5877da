"""Every write in billing goes through these services."""

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
from billing.services.errors import CouponInvalid, PaymentDeclined, PaymentReversed
from billing.services.idempotency import (
    IdempotencyConflict,
    IdempotentAnswer,
    idempotency_prune,
    idempotent_run,
)
from billing.services.orders import (
    CheckoutResult,
    coupon_resolve,
    invoice_issue,
    order_finalize,
    order_quote,
    order_refund,
    payment_method_add,
    payment_method_delete,
    payment_method_save,
)
from billing.services.payments import (
    order_checkout,
    order_pay,
    order_payment_retry,
    payment_callback_apply,
    payments_reconcile,
)
from billing.services.subscriptions import (
    add_interval,
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
    "PaymentReversed", "add_interval", "idempotency_prune", "idempotent_run", "order_pay", "payments_reconcile", "billing_cycle_run", "coupon_resolve",
    "invoice_issue", "order_checkout", "order_finalize", "order_payment_retry", "order_quote", "order_refund",
    "payment_callback_apply", "payment_method_add", "payment_method_delete", "payment_method_save",
    "proration_quote", "review_create", "review_update", "catalog_demo_load", "category_create",
    "category_delete", "category_update", "coupon_create", "coupon_update", "payment_gateway_create",
    "payment_gateway_update", "product_create", "product_update", "tax_rate_create", "tax_rate_update", "subscription_cancel", "subscription_change_plan", "subscription_charge",
    "subscription_dunning_step", "subscription_payment_retry",
]
