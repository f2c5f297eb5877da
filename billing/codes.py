"""The billing app's stable vocabulary: error codes, payment-attempt outcomes and audit actions.

The values are documented API contract (``{"error": {"code": ...}}``), stored on payment
attempts and written to the audit trail: they never change.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    CHECKOUT_IN_PROGRESS = "checkout_in_progress"
    COUPON_INVALID = "coupon_invalid"
    GATEWAY_UNAVAILABLE = "gateway_unavailable"
    GATEWAY_UNKNOWN = "gateway_unknown"
    IDEMPOTENCY_ANSWER_UNAVAILABLE = "idempotency_answer_unavailable"
    IDEMPOTENCY_IN_PROGRESS = "idempotency_in_progress"
    IDEMPOTENCY_KEY_INVALID = "idempotency_key_invalid"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    ORDER_NOT_PAYABLE = "order_not_payable"
    ORDER_NOT_REFUNDABLE = "order_not_refundable"
    ORDER_NOT_RETRYABLE = "order_not_retryable"
    PAYMENT_DECLINED = "payment_declined"
    PAYMENT_IN_PROGRESS = "payment_in_progress"
    PAYMENT_METHOD_REQUIRED = "payment_method_required"
    PAYMENT_REFUNDED = "payment_refunded"
    PLAN_CHANGE_IN_PROGRESS = "plan_change_in_progress"
    PLAN_UNCHANGED = "plan_unchanged"
    REFUND_AMOUNT_INVALID = "refund_amount_invalid"
    REFUND_FAILED = "refund_failed"
    REVIEW_EXISTS = "review_exists"
    SIGNATURE_INVALID = "bad_signature"
    SUBSCRIPTION_EXISTS = "subscription_exists"
    SUBSCRIPTION_NOT_ACTIVE = "subscription_not_active"
    SUBSCRIPTION_NOT_PAST_DUE = "subscription_not_past_due"
    TENANT_REQUIRED = "tenant_required"
    TOKEN_INVALID = "token_invalid"


class AttemptCode(StrEnum):
    """Why a payment attempt failed or its charge was given back (``PaymentAttempt.decline_code``,
    beside the gateways' own decline codes, which are stored as they come)."""

    AUTHENTICATION_ABANDONED = "authentication_abandoned"
    CALLBACK_FAILED = "callback_failed"
    DECLINED = "declined"
    DUPLICATE_PAYMENT = "duplicate_payment"
    FINALIZE_FAILED = "finalize_failed"
    GATEWAY_UNAVAILABLE = "gateway_unavailable"
    NO_PAYMENT_METHOD = "no_payment_method"
    NOT_CHARGED = "not_charged"
    ORDER_CLOSED = "order_closed"
    PLAN_CHANGE_ABANDONED = "plan_change_abandoned"


class AuditAction(StrEnum):
    CATEGORY_CREATE = "category.create"
    CATEGORY_DELETE = "category.delete"
    CATEGORY_UPDATE = "category.update"
    COUPON_CREATE = "coupon.create"
    COUPON_UPDATE = "coupon.update"
    ORDER_CHARGE_REFUNDED = "order.charge_refunded"
    ORDER_CHARGE_REVERSAL = "order.charge_reversal"
    ORDER_CREATE = "order.create"
    ORDER_PAID = "order.paid"
    ORDER_PAYMENT_FAILED = "order.payment_failed"
    ORDER_REFUND = "order.refund"
    PAYMENT_METHOD_ADD = "payment_method.add"
    PAYMENT_GATEWAY_CREATE = "payment_gateway.create"
    PAYMENT_GATEWAY_UPDATE = "payment_gateway.update"
    PAYMENT_METHOD_DELETE = "payment_method.delete"
    PRODUCT_CREATE = "billing_product.create"  # not "product.": licensing's products are another thing
    PRODUCT_UPDATE = "billing_product.update"
    REVIEW_CREATE = "review.create"
    REVIEW_UPDATE = "review.update"
    SUBSCRIPTION_CANCEL = "subscription.cancel"
    SUBSCRIPTION_CANCEL_SCHEDULED = "subscription.cancel_scheduled"
    SUBSCRIPTION_CHANGE_PLAN = "subscription.change_plan"
    SUBSCRIPTION_PAYMENT_FAILED = "subscription.payment_failed"
    SUBSCRIPTION_RENEW = "subscription.renew"
    SUBSCRIPTION_START = "subscription.start"
    SUBSCRIPTION_SUSPEND = "subscription.suspend"
    TAX_RATE_CREATE = "tax_rate.create"
    TAX_RATE_UPDATE = "tax_rate.update"
