"""Every write in billing goes through these services."""

from billing.services.catalog import review_create
from billing.services.errors import CouponInvalid, PaymentDeclined
from billing.services.orders import (
    CheckoutResult,
    coupon_resolve,
    invoice_issue,
    order_checkout,
    order_finalize,
    order_payment_retry,
    order_quote,
    order_refund,
    payment_callback_apply,
    payment_method_add,
    payment_method_delete,
    payment_method_save,
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
    "CheckoutResult", "CouponInvalid", "PaymentDeclined", "add_interval", "billing_cycle_run", "coupon_resolve",
    "invoice_issue", "order_checkout", "order_finalize", "order_payment_retry", "order_quote", "order_refund",
    "payment_callback_apply", "payment_method_add", "payment_method_delete", "payment_method_save",
    "proration_quote", "review_create", "subscription_cancel", "subscription_change_plan", "subscription_charge",
    "subscription_dunning_step", "subscription_payment_retry",
]
