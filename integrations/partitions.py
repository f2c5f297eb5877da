"""Tables of this app that are partitioned by month (see cdp/ops/partitions.py)."""

from cdp.ops.partitions import PartitionedTable, RowRetention, register, register_rows
from integrations.models import MercadoLibreOrder, SyncLog, VtexOrder, WebhookDelivery

register(PartitionedTable(
    table=SyncLog._meta.db_table, column="started_at", schema="tenant", retention="tenant",
    reason="One row per sync run (every 15 minutes per integration at most), kept data_retention_days.",
))
register(PartitionedTable(
    table=WebhookDelivery._meta.db_table, column="created_at", schema="tenant", retention="tenant",
    reason="One row per event and endpoint, with its body; kept data_retention_days.",
))

# Raw source payloads are kept for support and re-parsing; the orders they fed live on in customers.
register_rows(RowRetention(
    table=VtexOrder._meta.db_table, column="fetched_at", days_setting="CDP_RAW_PAYLOAD_RETENTION_DAYS",
    reason="Raw VTEX order payloads (personal data) are kept CDP_RAW_PAYLOAD_RETENTION_DAYS.",
))
register_rows(RowRetention(
    table=MercadoLibreOrder._meta.db_table, column="fetched_at", days_setting="CDP_RAW_PAYLOAD_RETENTION_DAYS",
    reason="Raw MercadoLibre order payloads (personal data) are kept CDP_RAW_PAYLOAD_RETENTION_DAYS.",
))
# A finished delivery keeps its row (status, code, timing) for data_retention_days, but the body it
# sent and the answer it got (personal data, echoed tokens) only CDP_DELIVERY_BODY_RETENTION_DAYS.
# The finished statuses come from the model's choices (parameters, not SQL literals).
FINISHED_DELIVERY_STATUSES = (WebhookDelivery.Status.SUCCESS, WebhookDelivery.Status.FAILED)
register_rows(RowRetention(
    table=WebhookDelivery._meta.db_table, column="created_at", days_setting="CDP_DELIVERY_BODY_RETENTION_DAYS",
    update="payload = '{}'::jsonb, response_body = ''",
    where="status = ANY(%s) AND (payload <> '{}'::jsonb OR response_body <> '')",
    params=([str(status) for status in FINISHED_DELIVERY_STATUSES],),  # one text[] parameter
    reason="Webhook bodies and answers expire before the delivery's row.",
))
