"""Payment gateway adapters behind one interface (``billing.gateways.base.Gateway``)."""

from __future__ import annotations

from billing.gateways.base import Card, ChargeResult, Gateway, GatewayUnavailable, RefundResult
from billing.gateways.sandbox import SandboxGateway
from billing.gateways.stripe import StripeGateway

ADAPTERS = {"sandbox": SandboxGateway, "stripe": StripeGateway}


def gateway_for(gateway_row) -> Gateway:
    """The adapter for a ``PaymentGateway`` row (its kind picks the class, its config the options)."""
    cls = ADAPTERS[gateway_row.kind]
    if cls is StripeGateway:
        return StripeGateway(base_url=(gateway_row.config or {}).get("base_url") or None)
    return cls()


__all__ = ["ADAPTERS", "Card", "ChargeResult", "Gateway", "GatewayUnavailable", "RefundResult",
           "SandboxGateway", "StripeGateway", "gateway_for"]
