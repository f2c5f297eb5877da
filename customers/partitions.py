"""Tables of this app that are partitioned by month, and rows that expire (see cdp/ops/partitions.py)."""

from cdp.ops.partitions import PartitionedTable, RowRetention, register, register_rows

register(PartitionedTable(
    table="customers_dataaccesslog", column="created_at", schema="tenant", retention="tenant",
    reason="Every read of personal data adds a row; each tenant keeps data_retention_days of it.",
))

# An order's source payload quotes the buyer (e-mail, phone, document, address): kept for support and
# re-parsing only CDP_RAW_PAYLOAD_RETENTION_DAYS (or the tenant's shorter data_retention_days), like
# the integrations' raw rows; the order itself, its amounts and items stay (seed 003 "Retention").
# Aged by ``updated_at`` (indexed; a payload is rewritten whenever its order changes), not by the
# order date, so that a historical import keeps its payloads for the period too.
register_rows(RowRetention(
    table="customers_order", column="updated_at", days_setting="CDP_RAW_PAYLOAD_RETENTION_DAYS",
    update="raw = NULL", where="raw IS NOT NULL",
    reason="Raw order payloads (personal data) expire; the order stays.",
))
