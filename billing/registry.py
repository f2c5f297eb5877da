"""Hook points of billing for the apps that build on it without being imported by it.

- Usage sources: ``register_usage_source("ai", provider)``. When a subscription's renewal order is
  created, billing calls ``provider(tenant=, period_start=, period_end=)`` for the period that just
  ended and adds the ``UsageLine``s it returns to that order (so to its invoice), once per tenant,
  source and period (``billing.models.UsageCharge``): a renewal retried or re-created never bills
  the same usage twice. Prices are in USD, before tax, like the plan's.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class UsageLine:
    sku: str
    description: str
    unit_price: Decimal
    quantity: int


_usage_sources: dict[str, Callable[..., list[UsageLine]]] = {}


def register_usage_source(name: str, provider: Callable[..., list[UsageLine]]) -> None:
    """``provider(tenant=, period_start=, period_end=)`` -> the tenant's billable usage of app
    ``name`` in ``[period_start, period_end)``; an empty list when there is none."""
    _usage_sources[name] = provider


def unregister_usage_source(name: str) -> None:
    _usage_sources.pop(name, None)


def usage_sources() -> list[tuple[str, Callable[..., list[UsageLine]]]]:
    return sorted(_usage_sources.items())


def usage_for(*, tenant, period_start: datetime.datetime, period_end: datetime.datetime
              ) -> list[tuple[str, list[UsageLine]]]:
    """Every source's lines for the period (sources without usage left out)."""
    found = []
    for name, provider in usage_sources():
        lines = [line for line in provider(tenant=tenant, period_start=period_start, period_end=period_end)
                 if line.quantity > 0 and line.unit_price > 0]
        if lines:
            found.append((name, lines))
    return found
