"""The order history a run computes from: read once, shared by the steps that need it."""

from __future__ import annotations

import datetime

from analytics.history import OrderHistory, day_number
from analytics.sql import counted_orders_sql

#: Steps that compute from the order history (a run reads it once and hands it to each).
HISTORY_STEPS = ("rfm", "clv", "churn", "cohorts", "kpis")


def order_history_load(*, tenant, as_of: datetime.date) -> OrderHistory:
    """Counted purchases of customers not merged away, per customer and local day (the tenant's
    timezone), up to and including ``as_of``."""
    customer_id, day, cents = counted_orders_sql(tz=tenant.setting("timezone"))
    return OrderHistory.from_orders(customer_id, day, cents, until=day_number(as_of))
