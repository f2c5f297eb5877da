"""Every write of the loyalty app goes through these services, one module per topic (``points``:
the program, tiers and the ledger; ``merge``: what a merge of two customers moves; ``privacy``:
erasure and export), re-exported here."""

from loyalty.services.coalition import (
    partner_create,
    partner_key_bind,
    partner_update,
    reward_create,
    reward_redeem,
    reward_update,
    voucher_use,
    voucher_void,
    vouchers_expire,
)
from loyalty.services.merge import (
    loyalty_accounts_merge,
    loyalty_accounts_merge_undo,
    loyalty_customer_merge,
    loyalty_customer_merge_undo,
)
from loyalty.services.points import (
    MAX_POINTS_PER_ENTRY,
    PROGRAM_FIELDS,
    InsufficientPoints,
    LoyaltyError,
    loyalty_catch_up,
    loyalty_counted_reconcile,
    loyalty_counted_sale_recompute,
    loyalty_defaults_create,
    loyalty_order_sync,
    loyalty_orders_sync,
    loyalty_points_adjust,
    loyalty_points_bonus,
    loyalty_points_expire,
    loyalty_points_redeem,
    loyalty_program_update,
    loyalty_tier_for,
    loyalty_tier_rule_update,
    loyalty_tiers_recompute,
)
from loyalty.services.crosspromo import chain_create, chain_update, loyalty_partner_orders_process
from loyalty.services.events import (
    event_check_in,
    event_create,
    event_register,
    event_registration_cancel,
    event_update,
)
from loyalty.services.orders import loyalty_orders_settle
from loyalty.services.offers import offer_create, offer_issue, offer_update
from loyalty.services.privacy import loyalty_erase
from loyalty.services.settlement import partner_settlements_compute, partner_settlements_refresh
from loyalty.services.referrals import referral_code_issue, referral_review, referrals_orders_process

__all__ = [
    "offer_create",
    "offer_issue",
    "offer_update",
    "partner_settlements_compute",
    "partner_settlements_refresh",
    "vouchers_expire",
    "chain_create",
    "chain_update",
    "loyalty_partner_orders_process",
    "event_check_in",
    "event_create",
    "event_register",
    "event_registration_cancel",
    "event_update",
    "referral_code_issue",
    "referral_review",
    "referrals_orders_process",
    "partner_create",
    "partner_key_bind",
    "partner_update",
    "reward_create",
    "reward_redeem",
    "reward_update",
    "voucher_use",
    "voucher_void",
    "MAX_POINTS_PER_ENTRY",
    "PROGRAM_FIELDS",
    "InsufficientPoints",
    "LoyaltyError",
    "loyalty_accounts_merge",
    "loyalty_accounts_merge_undo",
    "loyalty_customer_merge",
    "loyalty_customer_merge_undo",
    "loyalty_catch_up",
    "loyalty_counted_reconcile",
    "loyalty_counted_sale_recompute",
    "loyalty_defaults_create",
    "loyalty_erase",
    "loyalty_order_sync",
    "loyalty_orders_settle",
    "loyalty_orders_sync",
    "loyalty_points_adjust",
    "loyalty_points_bonus",
    "loyalty_points_expire",
    "loyalty_points_redeem",
    "loyalty_program_update",
    "loyalty_tier_for",
    "loyalty_tier_rule_update",
    "loyalty_tiers_recompute",
]
