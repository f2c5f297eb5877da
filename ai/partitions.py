"""Tables of this app that are partitioned by month (see cdp/ops/partitions.py)."""

from cdp.ops.partitions import PartitionedTable, register

register(PartitionedTable(
    table="ai_processedtask", column="created_at", schema="public", retention=25,
    reason="One row per AI call. Kept 25 months: a yearly renewal bills a whole year of AI requests "
           "(billing.registry usage lines) and the margin and ROI reports compare a year with the one before.",
))
