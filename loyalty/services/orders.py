"""What an ingested order means for loyalty, in one call for the order task: its points
(``loyalty.services.points.loyalty_orders_sync``), the referral it may carry
(``loyalty.services.referrals.referrals_orders_process``), and, at a partner, the cross-promotion
vouchers it triggers and the voucher it uses (``loyalty.services.crosspromo``)."""

from __future__ import annotations

from loyalty.services.crosspromo import loyalty_partner_orders_process
from loyalty.services.points import loyalty_orders_sync
from loyalty.services.referrals import referrals_orders_process


def loyalty_orders_settle(*, order_ids) -> int:
    """Points, referrals, cross-promotion and vouchers for ``order_ids``; idempotent. Returns the ledger entries written for
    the orders' own points."""
    order_ids = list(order_ids)
    written = loyalty_orders_sync(order_ids=order_ids)
    referrals_orders_process(order_ids=order_ids)
    loyalty_partner_orders_process(order_ids=order_ids)
    return written
