"""Every write of the customers app goes through these services (one module per topic; the
profile, ingest and aggregate writes are re-exported here)."""

from customers.services.ingest import MAX_BATCH, IngestResult, order_ingest
from customers.services.profile import (
    address_create,
    address_update,
    customer_create,
    customer_update,
    source_priorities,
    source_priority_delete,
    source_priority_set,
)
from customers.services.sales import customer_aggregates_refresh

__all__ = [
    "MAX_BATCH",
    "IngestResult",
    "address_create",
    "address_update",
    "customer_aggregates_refresh",
    "customer_create",
    "customer_update",
    "order_ingest",
    "source_priorities",
    "source_priority_delete",
    "source_priority_set",
]
