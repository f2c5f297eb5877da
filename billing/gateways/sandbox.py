"""The built-in gateway for development and tests, following the usual test-token convention.

Charges are deterministic: the transaction id derives from the idempotency key, so a retried call
answers with the same charge, as a real gateway's idempotency would.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from billing.gateways.base import Card, ChargeResult, RefundResult

# token -> (outcome, decline code, card)
TOKENS: dict[str, tuple[str, str, Card]] = {
    "tok_visa": ("succeeded", "", Card("visa", "4242", 12, 2034)),
    "tok_visa_debit": ("succeeded", "", Card("visa", "5556", 12, 2034)),
    "tok_mastercard": ("succeeded", "", Card("mastercard", "4444", 12, 2034)),
    "tok_amex": ("succeeded", "", Card("amex", "8431", 12, 2034)),
    "tok_br": ("succeeded", "", Card("visa", "0002", 12, 2034)),
    "tok_mx": ("succeeded", "", Card("visa", "0005", 12, 2034)),
    "tok_chargeDeclined": ("declined", "generic_decline", Card("visa", "0002", 12, 2034)),
    "tok_chargeDeclinedInsufficientFunds": ("declined", "insufficient_funds", Card("visa", "9995", 12, 2034)),
    "tok_chargeDeclinedFraudulent": ("declined", "fraudulent", Card("visa", "0019", 12, 2034)),
    "tok_chargeDeclinedExpiredCard": ("declined", "expired_card", Card("visa", "0069", 12, 2034)),
    "tok_chargeDeclinedIncorrectCvc": ("declined", "incorrect_cvc", Card("visa", "0127", 12, 2034)),
    "tok_chargeDeclinedProcessingError": ("declined", "processing_error", Card("visa", "0119", 12, 2034)),
    # Stripe's 3-D Secure test card: the charge waits for the customer; a callback settles it.
    "tok_threeDSecure2Required": ("pending", "", Card("visa", "3220", 12, 2034)),
}
MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "fraudulent": "Your card was declined.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "processing_error": "An error occurred while processing your card. Try again in a little bit.",
    "invalid_token": "No such token.",
}


def _id(prefix: str, key: str) -> str:
    return f"{prefix}_sbx_{hashlib.sha256(key.encode()).hexdigest()[:24]}"


class SandboxGateway:
    code = "sandbox"

    def card_for(self, token: str) -> Card | None:
        entry = TOKENS.get(token)
        return entry[2] if entry else None

    def charge(self, *, amount: Decimal, currency: str, token: str, idempotency_key: str,
               description: str = "", metadata: dict | None = None) -> ChargeResult:
        entry = TOKENS.get(token)
        if entry is None:
            return ChargeResult(status="declined", decline_code="invalid_token", message=MESSAGES["invalid_token"])
        outcome, code, card = entry
        return ChargeResult(status=outcome, transaction_id=_id("pi", idempotency_key), decline_code=code,
                            message=MESSAGES.get(code, ""), card=card)

    def refund(self, *, transaction_id: str, amount: Decimal, idempotency_key: str) -> RefundResult:
        return RefundResult(status="succeeded", refund_id=_id("re", idempotency_key))
