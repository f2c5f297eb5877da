"""The one ingest path for records: canonical order records in, unified customers and idempotent
orders out.

Every record source (the API, JSON Lines and CSV record imports, inbound hooks, connector pages)
calls ``order_ingest``. It validates each record here (field-level reasons per record), then
writes the valid ones with the set-based engine of big files (``customers.services.bulk.records``):
one engine, one set of rules, a few dozen statements per batch whatever its size.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from django.db import transaction

from cdp.context import Actor
from cdp.ops import metrics as ops_metrics
from cdp.exceptions import ApplicationError
from customers.codes import AuditAction, ErrorCode
from customers.services.bulk.records import records_write
from customers.services.bulk.writes import gc_paused
from customers.services.validation import CleanOrder, order_record_clean
from tenants.services import audit_record

logger = logging.getLogger(__name__)

MAX_BATCH = 1000

CREATED, UPDATED, UNCHANGED, REJECTED = "created", "updated", "unchanged", "rejected"


@dataclass
class RecordResult:
    index: int
    status: str
    order_id: int | None = None
    customer_id: int | None = None
    errors: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"index": self.index, "status": self.status, "order_id": self.order_id,
                "customer_id": self.customer_id, "errors": self.errors}


@dataclass
class IngestResult:
    results: list[RecordResult]

    def count(self, status: str) -> int:
        return sum(1 for result in self.results if result.status == status)

    def as_dict(self) -> dict:
        return {"created": self.count(CREATED), "updated": self.count(UPDATED), "unchanged": self.count(UNCHANGED),
                "rejected": self.count(REJECTED), "results": [result.as_dict() for result in self.results]}


def _nul_free(record):
    """The record without NUL characters; a cheap scan first (most records have none)."""
    if "\\u0000" not in json.dumps(record, default=str):
        return record
    return _without_nul(record)


def _without_nul(value):
    """PostgreSQL text and jsonb cannot hold NUL characters: drop them everywhere (keys too)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def _records_clean(records: list, results: list, *, default_source: str, currency: str, tz_name: str,
                   lenient_profile: bool, partner: str | None = None) -> list[tuple[int, CleanOrder]]:
    """The valid records as ``(index, clean)``; the others' results (rejected, with reasons) set
    in ``results``. ``partner``: the only partner the sender may record orders for (a
    partner-bound API key): a record without one is that partner's, one naming another is refused."""
    valid: list[tuple[int, CleanOrder]] = []
    seen_orders: dict[tuple[str, str, str], int] = {}
    for index, record in enumerate(records):
        record = _nul_free(record)
        clean, errors = order_record_clean(record, default_source=default_source, default_currency=currency,
                                           tz_name=tz_name, lenient_profile=lenient_profile)
        if errors:
            results[index] = RecordResult(index=index, status=REJECTED, errors=errors)
            continue
        if partner is not None:
            if clean.partner and clean.partner != partner:
                results[index] = RecordResult(index=index, status=REJECTED, errors={
                    "partner": [f"This API key records orders of partner '{partner}' only."]})
                continue
            clean.partner = partner
        key = (clean.source, clean.external_order_id, clean.partner)
        if key in seen_orders:
            results[index] = RecordResult(index=index, status=REJECTED, errors={
                "external_order_id": [f"Same order as record {seen_orders[key]} of this batch."]})
            continue
        seen_orders[key] = index
        valid.append((index, clean))
    return valid


def order_ingest(*, records: list, actor: Actor, tenant, default_source: str = "api",
                 lenient_profile: bool = False, partner: str | None = None) -> IngestResult:
    """Ingest canonical order records (at most MAX_BATCH) and report each one.

    Promises: invalid records are rejected with field-level reasons and leave nothing behind;
    valid ones are stored in the same call, set-based (within a batch, a person's newest order
    by date gives their profile values, as in a file); re-sending a record is
    ``unchanged``; a changed status or amount is ``updated`` and logged; concurrent batches naming
    the same new person create one customer; aggregates are exact when this returns; events are
    published after commit. Raises QuotaExceeded (nothing written) when the plan's customer limit
    would be passed. ``lenient_profile`` is for connectors: see ``order_record_clean``.
    ``partner``: the sender is bound to this partner (see ``_records_clean``)."""
    if not isinstance(records, list):
        raise ApplicationError("`orders` must be a list.", fields={"orders": ["Must be a list."]})
    if len(records) > MAX_BATCH:
        raise ApplicationError(f"At most {MAX_BATCH} orders per batch.", code=ErrorCode.BATCH_TOO_LARGE,
                               fields={"orders": [f"At most {MAX_BATCH} orders per batch; got {len(records)}."]})
    currency = tenant.setting("currency")
    tz_name = tenant.setting("timezone")
    results: list[RecordResult | None] = [None] * len(records)
    with gc_paused():  # thousands of small objects, none in a cycle
        valid = _records_clean(records, results, default_source=default_source, currency=currency,
                               tz_name=tz_name, lenient_profile=lenient_profile, partner=partner)

    with transaction.atomic():
        if valid:
            for outcome in records_write(cleaned=valid, actor=actor, tenant=tenant):
                results[outcome.row_no] = RecordResult(index=outcome.row_no, status=outcome.status,
                                                       order_id=outcome.order_id, customer_id=outcome.customer_id)
        result = IngestResult(results=results)
        if valid:
            audit_record(actor=actor, action=AuditAction.ORDERS_INGEST, resource_type="order", tenant=tenant,
                         changes={key: result.count(key) for key in (CREATED, UPDATED, UNCHANGED, REJECTED)})
    ops_metrics.orders_ingested(source=default_source, counts={
        key: result.count(key) for key in (CREATED, UPDATED, UNCHANGED, REJECTED)})
    return result
