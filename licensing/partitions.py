"""Tables of this app that are partitioned by month (see cdp/ops/partitions.py)."""

from cdp.ops.partitions import PartitionedTable, register

register(PartitionedTable(
    table="licensing_validationlog", column="created_at", schema="public",
    retention="setting:CDP_VALIDATION_LOG_RETENTION_DAYS",
    reason="One row per validation request (the busiest endpoint); kept CDP_VALIDATION_LOG_RETENTION_DAYS.",
))
