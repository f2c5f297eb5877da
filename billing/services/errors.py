"""Error codes billing raises (stable; interfaces map them to HTTP)."""

from __future__ import annotations

from billing.codes import ErrorCode
from cdp.exceptions import ApplicationError, Conflict


class PaymentDeclined(ApplicationError):
    """The gateway declined; the order is kept as ``payment_failed`` with no invoice or license."""

    code = ErrorCode.PAYMENT_DECLINED
    http_status = 402

    def __init__(self, message: str, *, order=None, decline_code: str = ""):
        super().__init__(message, code=ErrorCode.PAYMENT_DECLINED)
        self.order = order
        self.decline_code = decline_code


class CouponInvalid(ApplicationError):
    code = ErrorCode.COUPON_INVALID


class PaymentReversed(Conflict):
    """The card was charged but the order could not be completed (e.g. a subscription was bought
    meanwhile): the charge is refunded (or being refunded) and the order closed with the reason."""

    code = ErrorCode.PAYMENT_REFUNDED

    def __init__(self, message: str, *, order=None):
        super().__init__(message, code=ErrorCode.PAYMENT_REFUNDED)
        self.order = order
