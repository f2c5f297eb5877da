"""Error codes billing raises (stable; interfaces map them to HTTP)."""

from __future__ import annotations

from cdp.exceptions import ApplicationError


class PaymentDeclined(ApplicationError):
    """The gateway declined; the order is kept as ``payment_failed`` with no invoice or license."""

    code = "payment_declined"
    http_status = 402

    def __init__(self, message: str, *, order=None, decline_code: str = ""):
        super().__init__(message, code="payment_declined")
        self.order = order
        self.decline_code = decline_code


class CouponInvalid(ApplicationError):
    code = "coupon_invalid"
