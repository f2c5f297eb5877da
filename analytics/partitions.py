"""Tables of this app that are partitioned by month (see cdp/ops/partitions.py)."""

from cdp.ops.partitions import PartitionedTable, RowRetention, register, register_rows

register(PartitionedTable(
    table="analytics_rfmsnapshot", column="as_of", schema="tenant", retention=12,
    reason="A run appends one row per customer and day; snapshots are kept 12 months (seed 002).",
))

# Facts are kept 24 months (seed 002): the per-day segment sizes grow by one row per segment a day.
register_rows(RowRetention(
    table="analytics_segmentcount", column="date", months=24,
    reason="Daily segment sizes (facts) are kept 24 months.",
))
