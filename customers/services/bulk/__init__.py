"""The set-based twin of ``order_ingest`` for big files: ``orders_bulk_load``.

The CSV is COPYed into a scratch table, then normalized, validated, resolved to
customers and upserted with a few SQL statements, so a million orders take seconds, not hours.
The rules are those of the record path (customers.services.ingest), restated in SQL:

- normalization: ``customers.services.normalize`` (email, document, phone, country, gender);
- resolution: (source, external customer id), then email, then (document type, number); rows of
  the file naming the same new person (same email, or same identity, or same document) become one
  customer;
- conflicts: empty never overwrites; an existing value changes only for its own source or a
  strictly higher-ranked one, with a change-log row per changed field;
- idempotency: (source, external_order_id) upsert; unchanged rows are not touched; changed
  ones are updated and logged; aggregates are recomputed for every customer touched;
- rejected rows are reported with their reasons and nothing of them is written.

It holds the tenant's ingest lock exclusively (record batches hold it shared), so it never races
a concurrent batch, and it runs in one transaction: a failure leaves nothing behind.
"""

from customers.services.bulk.columns import (
    ADDRESS_COLUMNS,
    CUSTOMER_COLUMNS,
    INVALID_COLUMNS_MESSAGE,
    IDENTIFIER_COLUMNS,
    KNOWN_COLUMNS,
    ORDER_COLUMNS,
    REQUIRED_COLUMNS,
    BulkResult,
    csv_columns,
    invalid_columns,
    missing_columns,
)
from customers.services.bulk.load import orders_bulk_load

__all__ = [
    "ADDRESS_COLUMNS",
    "CUSTOMER_COLUMNS",
    "INVALID_COLUMNS_MESSAGE",
    "IDENTIFIER_COLUMNS",
    "KNOWN_COLUMNS",
    "ORDER_COLUMNS",
    "REQUIRED_COLUMNS",
    "BulkResult",
    "csv_columns",
    "invalid_columns",
    "missing_columns",
    "orders_bulk_load",
]
