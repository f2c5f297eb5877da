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


class AuditAction(StrEnum):
    LOYALTY_ADJUST = "loyalty.adjust"
    LOYALTY_BONUS = "loyalty.bonus"
    LOYALTY_PROGRAM_UPDATE = "loyalty.program.update"
    LOYALTY_REDEEM = "loyalty.redeem"
    LOYALTY_TIER_UPDATE = "loyalty.tier.update"
