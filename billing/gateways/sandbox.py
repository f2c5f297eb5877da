"""The built-in gateway for development and tests, following the usual test-token convention.

Charges are deterministic and recorded (``SandboxCharge``, keyed by the caller's idempotency key):
a retried call answers with the same charge, as a real gateway's idempotency would, and the charge
can be looked up later by that key (what the reconciler does after a crash). Refunds are recorded
too, idempotently, and never exceed what was charged.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from django.db import IntegrityError, transaction

from billing.gateways.base import Card, ChargeResult, RefundResult
from billing.models import SandboxCharge, SandboxRefund

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

    @staticmethod
    def _result(charge) -> ChargeResult:
        entry = TOKENS.get(charge.token)
        code = "invalid_token" if entry is None else entry[1]
        card = entry[2] if entry else Card()
        return ChargeResult(status=charge.status, transaction_id=charge.transaction_id if entry else "",
                            decline_code=code, message=MESSAGES.get(code, ""), card=card)

    def charge(self, *, amount: Decimal, currency: str, token: str, idempotency_key: str,
               description: str = "", metadata: dict | None = None) -> ChargeResult:
        entry = TOKENS.get(token)
        status = "declined" if entry is None else entry[0]
        charge, _ = SandboxCharge.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={"transaction_id": _id("pi", idempotency_key), "token": token, "amount": amount,
                      "currency": currency, "status": status})
        return self._result(charge)

    def find_charge(self, *, idempotency_key: str, transaction_id: str = "") -> ChargeResult | None:
        charge = SandboxCharge.objects.filter(idempotency_key=idempotency_key).first()
        if charge is None and transaction_id:
            charge = SandboxCharge.objects.filter(transaction_id=transaction_id).first()
        return None if charge is None else self._result(charge)

    def refund(self, *, transaction_id: str, amount: Decimal, idempotency_key: str) -> RefundResult:
        done = SandboxRefund.objects.filter(idempotency_key=idempotency_key).first()
        if done is not None:
            return RefundResult(status="succeeded", refund_id=done.refund_id)
        try:
            with transaction.atomic():
                charge = SandboxCharge.objects.select_for_update().filter(transaction_id=transaction_id).first()
                if charge is None:
                    # Charges made before the sandbox kept a record: accepted, as before.
                    return RefundResult(status="succeeded", refund_id=_id("re", idempotency_key))
                if charge.status == "declined":  # a 3-D Secure "pending" one was completed (callback)
                    return RefundResult(status="failed", message="This charge was not captured.")
                if charge.amount_refunded + amount > charge.amount:
                    return RefundResult(status="failed", message="The refund exceeds what remains of the charge.")
                refund = SandboxRefund.objects.create(idempotency_key=idempotency_key, charge=charge, amount=amount,
                                                      refund_id=_id("re", idempotency_key))
                charge.amount_refunded += amount
                charge.save(update_fields=["amount_refunded"])
        except IntegrityError:  # the same refund key, concurrently: the other call made it
            refund = SandboxRefund.objects.get(idempotency_key=idempotency_key)
        return RefundResult(status="succeeded", refund_id=refund.refund_id)
