"""Tables of this app that are partitioned by month (see cdp/ops/partitions.py)."""

from cdp.ops.partitions import PartitionedTable, register

register(PartitionedTable(
    table="customers_dataaccesslog", column="created_at", schema="tenant", retention="tenant",
    reason="Every read of personal data adds a row; each tenant keeps data_retention_days of it.",
))
