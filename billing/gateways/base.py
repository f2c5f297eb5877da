"""The one interface every payment gateway adapter implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from billing.codes import ErrorCode
from cdp.exceptions import ApplicationError


class GatewayUnavailable(ApplicationError):
    """The gateway could not be reached or answered nonsense.

    ``maybe_charged`` says whether the request may have reached the gateway (a timeout, a 5xx, a
    dropped connection): then a charge may exist and only asking the gateway later can tell. It is
    False only when the request certainly was not acted on (no credentials, refused as invalid)."""

    code = ErrorCode.GATEWAY_UNAVAILABLE
    http_status = 502

    def __init__(self, message: str, *, maybe_charged: bool = True, **kwargs):
        super().__init__(message, **kwargs)
        self.maybe_charged = maybe_charged


@dataclass(frozen=True)
class Card:
    brand: str = ""
    last4: str = ""
    exp_month: int = 12
    exp_year: int = 2030


@dataclass(frozen=True)
class ChargeResult:
    """``status``: succeeded, declined or pending (the customer must act; a callback follows)."""

    status: str
    transaction_id: str = ""
    decline_code: str = ""
    message: str = ""
    card: Card = field(default_factory=Card)

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"


@dataclass(frozen=True)
class RefundResult:
    status: str  # succeeded | failed
    refund_id: str = ""
    message: str = ""


def to_minor_units(amount: Decimal) -> int:
    """Cents as an integer, as card gateways expect (two-decimal currencies only)."""
    return int((Decimal(amount) * 100).to_integral_value())


class Gateway(Protocol):
    code: str

    def charge(self, *, amount: Decimal, currency: str, token: str, idempotency_key: str,
               description: str = "", metadata: dict | None = None) -> ChargeResult: ...

    def refund(self, *, transaction_id: str, amount: Decimal, idempotency_key: str) -> RefundResult: ...

    def find_charge(self, *, idempotency_key: str, transaction_id: str = "") -> ChargeResult | None:
        """The charge made with ``idempotency_key`` (or ``transaction_id`` when known), as the gateway
        sees it now; None when the gateway has no such charge. Read-only: never charges."""
        ...
