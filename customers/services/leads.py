"""Customers without orders: leads and subscribers (seed 003 creation flows "lead capture" and
"subscription").

``customer_ingest`` takes customer records (no order) and writes them through the order ingest's
engine (``customers.services.bulk.records``): the same identity resolution (identity, then e-mail,
then document), the same source priorities (empty never overwrites; a value changes only for its
own source or a higher-ranked one), the same change log and the same events. A record becomes a
staged row without an order (``ext`` NULL); the engine resolves and writes its person and skips
the order steps.

Idempotency is natural: a re-delivered record finds its person and changes nothing
(``unchanged``), so a retry after a timeout never makes a second customer nor a change-log row.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from cdp.context import Actor
from cdp.exceptions import ApplicationError
from customers.codes import AuditAction, ErrorCode
from customers.masking import SENSITIVE_FIELDS
from customers.models import Customer, CustomerChangeLog
from customers.registry import publish_on_commit
from customers.services.bulk.records import records_write
from customers.selectors.attributes import attribute_definitions
from customers.services.attributes import attribute_values_clean, customer_attributes_apply
from customers.services.common import as_text
from customers.services.ingest import CREATED, MAX_BATCH, REJECTED, UNCHANGED, UPDATED, IngestResult, RecordResult
from customers.services.validation import ORDER_TEXT_FIELDS, CleanCustomerRecord, CleanOrder, customer_record_clean
from tenants.roles import SENSITIVE
from tenants.services import audit_record
from tenants.services.authz import actor_authority

__all__ = ["customer_ingest"]


def _as_row(record: CleanCustomerRecord, captured_at) -> CleanOrder:
    """A customer record as the engine's staged row: no order (``external_order_id`` None), dated
    when it arrived (within a batch and against earlier orders, the newest values win, as for
    orders)."""
    return CleanOrder(source=record.source, external_order_id=None, partner="", order_date=captured_at, status="",
                      currency="",
                      total_amount=None, amounts={}, payment_method="", details=dict.fromkeys(ORDER_TEXT_FIELDS, ""),
                      customer_external_id=record.customer_external_id, profile=record.profile,
                      address=record.address, items=None, raw=None)


def _records_clean(records: list, results: list, *, default_source: str, actor: Actor,
                   tenant) -> list[tuple[int, CleanCustomerRecord]]:
    """The valid records as ``(index, clean)``; the others' results (rejected, with reasons) set."""
    may_write_sensitive = None
    definitions = None
    valid = []
    for index, record in enumerate(records):
        clean, errors = customer_record_clean(record, default_source=default_source)
        if clean is not None and clean.attributes:
            if definitions is None:  # one query per batch, only when a record has attributes
                definitions = attribute_definitions()
            clean.attributes, errors = attribute_values_clean(clean.attributes, definitions=definitions,
                                                              allow_clear=False)
        if clean is not None and not errors:
            touched = [name for name in clean.profile if name in SENSITIVE_FIELDS]
            if touched:
                if may_write_sensitive is None:  # one look-up per batch, only when needed
                    may_write_sensitive = SENSITIVE in actor_authority(actor=actor, tenant=tenant).capabilities
                if not may_write_sensitive:
                    errors = {name: ["Your role may not change this field."] for name in touched}
        if errors:
            results[index] = RecordResult(index=index, status=REJECTED, errors=errors)
            continue
        valid.append((index, clean))
    return valid


def _kinds_tag(*, valid: list[tuple[int, CleanCustomerRecord]], results: list, actor: Actor) -> None:
    """Tag each person with how they came (``lead``, ``subscriber``) so that segments can select
    them: one UPDATE per kind (a thousand-row ``bulk_update`` is a thousand-branch CASE). A known
    customer's new tag is change-logged (and makes their record ``updated``); a customer created
    by this batch is simply born with it. Pseudonymized people are left alone."""
    by_kind: dict[str, set[int]] = {}
    for index, clean in valid:
        by_kind.setdefault(clean.kind, set()).add(results[index].customer_id)
    created = {results[index].customer_id for index, _ in valid if results[index].status == CREATED}
    logs = []
    with connection.cursor() as cursor:
        for kind, ids in sorted(by_kind.items()):
            cursor.execute(f"""UPDATE {Customer._meta.db_table} SET tags = array_append(tags, %s), updated_at = now()
                                WHERE id = ANY(%s) AND NOT is_pseudonymized AND NOT (%s = ANY(tags))
                                RETURNING id, tags""", [kind, sorted(ids), kind])
            logs.extend(CustomerChangeLog(customer_id=pk, field="tags", old_value=as_text(tags[:-1]),
                                          new_value=as_text(tags), source="", changed_by=actor.label[:255],
                                          reason="subscription or lead capture")
                        for pk, tags in cursor.fetchall() if pk not in created)
    if logs:
        CustomerChangeLog.objects.bulk_create(logs)
        logged = {log.customer_id for log in logs}
        for result in results:
            if result is not None and result.customer_id in logged and result.status == UNCHANGED:
                result.status = UPDATED
        publish_on_commit([("customer.updated", {"customer_id": pk, "fields": ["tags"]}) for pk in sorted(logged)])


def _attributes_apply(*, valid: list[tuple[int, CleanCustomerRecord]], results: list, actor: Actor) -> None:
    """The records' custom attribute values, per source (priorities apply as for the profile)."""
    by_source: dict[str, dict[int, dict]] = {}
    for index, clean in valid:
        if clean.attributes:
            by_source.setdefault(clean.source, {}).setdefault(results[index].customer_id, {}).update(clean.attributes)
    changed: set[int] = set()
    for source, wanted in by_source.items():
        changed |= set(customer_attributes_apply(wanted=wanted, actor=actor, source=source))
    for result in results:
        if result is not None and result.customer_id in changed and result.status == UNCHANGED:
            result.status = UPDATED


def customer_ingest(*, records: list, actor: Actor, tenant, default_source: str = "api") -> IngestResult:
    """Upsert leads and subscribers (at most MAX_BATCH records) and report each one.

    Promises: invalid records are rejected with field-level reasons and leave nothing behind;
    valid ones resolve to an existing customer (identity, e-mail, document) or create one, under
    the source priorities, with a change-log row per changed field; a re-delivered record is
    ``unchanged``; each person is tagged with the record's ``kind``; one audit entry per batch;
    events after commit. A sender without ``sensitive`` cannot set the document or birth date
    (those records are rejected). Raises QuotaExceeded (nothing written) past the plan's limit."""
    if not isinstance(records, list):
        raise ApplicationError("`customers` must be a list.", fields={"customers": ["Must be a list."]})
    if len(records) > MAX_BATCH:
        raise ApplicationError(f"At most {MAX_BATCH} customers per batch.", code=ErrorCode.BATCH_TOO_LARGE,
                               fields={"customers": [f"At most {MAX_BATCH} customers per batch; got {len(records)}."]})
    results: list[RecordResult | None] = [None] * len(records)
    valid = _records_clean(records, results, default_source=default_source, actor=actor, tenant=tenant)
    captured_at = timezone.now()
    with transaction.atomic():
        if valid:
            rows = [(index, _as_row(clean, captured_at)) for index, clean in valid]
            for outcome in records_write(cleaned=rows, actor=actor, tenant=tenant):
                results[outcome.row_no] = RecordResult(index=outcome.row_no, status=outcome.status,
                                                       customer_id=outcome.customer_id)
            _kinds_tag(valid=valid, results=results, actor=actor)
            _attributes_apply(valid=valid, results=results, actor=actor)
        result = IngestResult(results=results)
        counts = {key: result.count(key) for key in (CREATED, UPDATED, UNCHANGED, REJECTED)}
        if valid:
            audit_record(actor=actor, action=AuditAction.CUSTOMERS_INGEST, resource_type="customer", tenant=tenant,
                         changes=counts)
    return result
