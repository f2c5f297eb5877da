"""Reads of the counted-sale rule: which orders are sales (every app asks here) and the
recomputations its changes started."""

from __future__ import annotations

from django.db.models import QuerySet

from customers.models import DEFAULT_COUNTED_STATUSES, CountedSaleRule, SalesRecomputeJob


def counted_statuses() -> tuple[str, ...]:
    """The order statuses that count as a sale in the current tenant (its rule, or the default:
    paid, invoiced, completed). Pass it to SQL as a parameter (``status = ANY(%s)``) or to the
    ORM (``status__in``); never restate the statuses."""
    statuses = CountedSaleRule.objects.values_list("statuses", flat=True).first()
    return tuple(statuses) if statuses else DEFAULT_COUNTED_STATUSES


def counted_sale_rule() -> dict:
    """The rule as people see it: the statuses, whether it is the default, who changed it last."""
    rule = CountedSaleRule.objects.first()
    statuses = tuple(rule.statuses) if rule else DEFAULT_COUNTED_STATUSES
    return {"statuses": list(statuses), "is_default": set(statuses) == set(DEFAULT_COUNTED_STATUSES),
            "changed_by": rule.changed_by if rule else "", "updated_at": rule.updated_at if rule else None}


def sales_recompute_jobs() -> QuerySet[SalesRecomputeJob]:
    """Recomputations, newest first."""
    return SalesRecomputeJob.objects.order_by("-created_at", "-id")
