"""Tables of this app that are partitioned by month (see cdp/ops/partitions.py)."""

from cdp.ops.partitions import PartitionedTable, register

register(PartitionedTable(
    table="tenants_auditlog", column="created_at", schema="public", retention="tenant", tenant_column="tenant_id",
    reason="Every service write adds a row, forever; each tenant keeps data_retention_days of it.",
))
