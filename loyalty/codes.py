"""The loyalty app's stable vocabulary: the error codes it raises and the audit actions it
records. The values are the API's documented contract and the audit trail's history (they are the
ones loyalty had while it lived in ``customers``): never change one; add new ones as
``subject_problem``."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    # points and tiers
    LOYALTY_OPERATION_INVALID = "invalid_loyalty_operation"
    POINTS_INSUFFICIENT = "insufficient_points"
    REASON_REQUIRED = "reason_required"
    TIER_THRESHOLDS_INVALID = "tier_thresholds_invalid"
    # merges of two customers (the undo of what loyalty moved)
    MERGE_UNDO_DIVERGED = "merge_undo_diverged"
    # the coalition: partners, rewards, vouchers
    PARTNER_INVALID = "partner_invalid"
    PARTNER_SLUG_TAKEN = "partner_slug_taken"
    PARTNER_KEY_INVALID = "partner_key_invalid"
    REWARD_INVALID = "reward_invalid"
    REWARD_UNAVAILABLE = "reward_unavailable"
    REWARD_LIMIT_REACHED = "reward_limit_reached"
    IDEMPOTENCY_KEY_INVALID = "idempotency_key_invalid"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    VOUCHER_INVALID = "voucher_invalid"
    REFERRAL_NOT_IN_REVIEW = "referral_not_in_review"
    EVENT_INVALID = "event_invalid"
    EVENT_CLOSED = "event_closed"
    EVENT_NOT_REGISTERED = "event_not_registered"
    CHAIN_INVALID = "chain_invalid"
    SETTLEMENT_INVALID = "settlement_invalid"
    MEMBER_LINK_INVALID = "member_link_invalid"
    OFFER_INVALID = "offer_invalid"
    OFFER_INACTIVE = "offer_inactive"


class AuditAction(StrEnum):
    LOYALTY_ADJUST = "loyalty.adjust"
    LOYALTY_BONUS = "loyalty.bonus"
    LOYALTY_PROGRAM_UPDATE = "loyalty.program.update"
    LOYALTY_REDEEM = "loyalty.redeem"
    LOYALTY_TIER_UPDATE = "loyalty.tier.update"
    PARTNER_CREATE = "loyalty.partner.create"
    PARTNER_UPDATE = "loyalty.partner.update"
    PARTNER_KEY_BIND = "loyalty.partner.key_bind"
    PARTNER_KEY_UNBIND = "loyalty.partner.key_unbind"
    REWARD_CREATE = "loyalty.reward.create"
    REWARD_UPDATE = "loyalty.reward.update"
    REWARD_REDEEM = "loyalty.reward.redeem"
    VOUCHER_ISSUE = "loyalty.voucher.issue"
    VOUCHER_USE = "loyalty.voucher.use"
    VOUCHER_VOID = "loyalty.voucher.void"
    REFERRAL_CODE_ISSUE = "loyalty.referral_code.issue"
    REFERRAL_REVIEW = "loyalty.referral.review"
    EVENT_CREATE = "loyalty.event.create"
    EVENT_UPDATE = "loyalty.event.update"
    EVENT_REGISTER = "loyalty.event.register"
    EVENT_CANCEL = "loyalty.event.cancel"
    EVENT_CHECK_IN = "loyalty.event.check_in"
    CHAIN_CREATE = "loyalty.chain.create"
    CHAIN_UPDATE = "loyalty.chain.update"
    SETTLEMENT_COMPUTE = "loyalty.settlement.compute"
    MEMBER_LINK_ISSUE = "loyalty.member_link.issue"
    OFFER_CREATE = "loyalty.offer.create"
    OFFER_UPDATE = "loyalty.offer.update"
    OFFER_ISSUE = "loyalty.offer.issue"
