"""Data-subject erasure, as loyalty sees it: the erasure handler loyalty registers with customers
(``loyalty.apps``; its export section is ``loyalty.selectors.loyalty_export_data``).

Erasure keeps the figures (points, tiers, dates: what analytics and the balance need) and scrubs
the free text of the person's ledger entries (description, reference, metadata) and vouchers, in the erasure's
transaction: a failure here rolls the whole erasure back. The audit entries about the ledger are
redacted by customers' erasure (they name the customer)."""

from __future__ import annotations

from customers.registry import Erasure
from loyalty.models import LoyaltyTransaction, Voucher


def loyalty_erase(*, erasure: Erasure) -> int:
    """Scrub the free text of the person's ledger entries and vouchers; returns how many rows
    changed."""
    changed = 0
    for entry in LoyaltyTransaction.objects.filter(account__customer_id__in=erasure.customer_ids):
        values = {"description": erasure.scrub_text(entry.description),
                  "reference": erasure.scrub_text(entry.reference),
                  "metadata": erasure.scrub_json(entry.metadata)}
        if any(getattr(entry, key) != value for key, value in values.items()):
            LoyaltyTransaction.objects.filter(pk=entry.pk).update(**values)
            changed += 1
    for voucher in Voucher.objects.filter(customer_id__in=erasure.customer_ids).exclude(redeemed_reference=""):
        reference = erasure.scrub_text(voucher.redeemed_reference)
        if reference != voucher.redeemed_reference:
            Voucher.objects.filter(pk=voucher.pk).update(redeemed_reference=reference)
            changed += 1
    return changed

