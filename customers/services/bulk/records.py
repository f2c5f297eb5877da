"""The bulk engine fed from records: API batches, JSON Lines, inbound hooks and connector pages.

``order_ingest`` validates each record in Python (the field-level messages senders see), then
hands the valid ones here. They are COPYed, already normalized, into a TEMP ``cdp_bulk_rows`` and
go through the same SQL steps as a CSV file (``load.rows_resolve_and_write``): a batch of 1,000
orders is a few dozen statements instead of ten per order.

Concurrency. A file holds the tenant's ingest lock exclusively; a batch holds it shared (no file
load and no change of the counted-sale rule meanwhile, but any number of batches side by side).
Batches naming the same new person or order meet on the unique constraints (email, document,
source identity, order): the second waits for the first to commit, fails on the constraint, and
runs again from its savepoint, then finding the first one's rows (as the record-by-record path
did per record). The customers a batch reaches are locked by id before it writes them (see
``load._known_customers_match``), so two batches adding orders to one customer take turns and
its aggregates stay exact. A lock per key was tried and dropped: a batch of 1,000 orders names
about 4,000 keys, and a few such batches overflow PostgreSQL's lock table
(``max_locks_per_transaction``), while hashing keys into fewer locks made unrelated batches wait
on each other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, OperationalError, connection, transaction
from psycopg.types.json import Jsonb

from cdp.context import Actor
from customers.documents import document_hashes, seal
from customers.selectors.sales import counted_statuses
from customers.services.bulk.columns import (
    ADDRESS_COLUMNS,
    AMOUNT_COLUMNS,
    CHANGE_LOGS,
    DROP_SCRATCH_TABLES,
    ORDERS,
    PERSON_KEY_DOCUMENT,
    PERSON_KEY_EMAIL,
    PERSON_KEY_IDENTITY,
    BulkResult,
    records_mode,
)
from customers.services.bulk.load import rows_resolve_and_write
from customers.services.bulk.validation_sql import KEPT_COLUMNS
from customers.services.bulk.writes import gc_paused, publish_events
from customers.services.locks import ingest_lock_shared
from customers.services.validation import ORDER_TEXT_FIELDS, CleanOrder

#: Attempts of a batch that lost a race on a unique key or a deadlock to a concurrent batch.
ATTEMPTS = 5
#: unique_violation, deadlock_detected
RETRIED = ("23505", "40P01")

#: ``cdp_bulk_rows`` as the CSV feed's validation step makes it (``validation_sql.KEPT_COLUMNS``,
#: then the phone, the person key and the errors), with the types the later steps expect.
_TYPES = {"row_no": "bigint", "od": "timestamptz", "birth_date": "date", "items": "jsonb", "raw": "jsonb",
          "doc_hashes": "text[]",
          **{name: "numeric" for name in AMOUNT_COLUMNS}}
ROW_COLUMNS = (*KEPT_COLUMNS, "phone", "pkey", "errors")
_CREATE_ROWS = ("CREATE TEMP TABLE cdp_bulk_rows ("
                + ", ".join(f"{name} {_TYPES.get(name, 'text')}" for name in ROW_COLUMNS) + ")")


@dataclass
class RowOutcome:
    """What happened to one staged row (``row_no`` is the record's index in the batch)."""

    row_no: int
    order_id: int | None  # None for a row without an order (a lead or a subscriber)
    customer_id: int
    status: str  # created, updated or unchanged


def _json(value) -> Jsonb:
    return Jsonb(value, dumps=lambda obj: json.dumps(obj, cls=DjangoJSONEncoder))


def _row(index: int, clean: CleanOrder) -> tuple:
    """A clean record as a ``cdp_bulk_rows`` row (empty values as the CSV feed stages them)."""
    profile = clean.profile
    email = profile.get("email")
    cext = clean.customer_external_id or None
    doc_type, doc = profile.get("document_type", ""), profile.get("document_number")
    hashes = document_hashes(doc) if doc else []  # newest key's first
    if email:
        pkey = PERSON_KEY_EMAIL + email
    elif cext:
        pkey = f"{PERSON_KEY_IDENTITY}{clean.source}:{cext}"
    else:
        pkey = f"{PERSON_KEY_DOCUMENT}{doc_type}:{doc or ''}"
    address = clean.address or {}
    items = None if clean.items is None else _json(
        [{"sku": item["sku"], "name": item["name"], "quantity": str(item["quantity"]),
          "unit_price": str(item["unit_price"])} for item in clean.items])
    values = {
        "row_no": index, "src": clean.source, "ext": clean.external_order_id, "partner": clean.partner,
        "od": clean.order_date,
        "status": str(clean.status), "currency": clean.currency, "total_amount": clean.total_amount,
        **{name: clean.amounts.get(name) for name in AMOUNT_COLUMNS if name != "total_amount"},
        "payment_method": clean.payment_method, **{name: clean.details[name] for name in ORDER_TEXT_FIELDS},
        "email": email, "cext": cext, "doc_type": doc_type, "doc": doc, "doc_raw": doc,
        # validated and compact already (customers.services.validation): hashed and sealed here
        "doc_hash": hashes[0] if hashes else None, "doc_hashes": hashes or None,
        "doc_enc": seal(doc) if doc else None,
        **{name: profile.get(name) or None for name in ("first_name", "last_name", "city", "state", "gender",
                                                        "phone")},
        "birth_date": profile.get("birth_date"), "country": profile.get("country", ""), "items": items,
        **{f"addr_{name}": str(address.get(name) or "") for name in ADDRESS_COLUMNS},
        "raw": None if clean.raw is None else _json(clean.raw), "pkey": pkey, "errors": "",
    }
    return tuple(values[name] for name in ROW_COLUMNS)


def _outcomes(cursor) -> list[RowOutcome]:
    """Each staged row's order, its customer (the order's: a stored order keeps its customer) and
    what happened to it. A row without an order (a lead or a subscriber, ``ext`` NULL) is about
    its customer: created when the batch made them, updated when it logged a change of their
    profile, unchanged otherwise (a re-delivered record)."""
    cursor.execute(f"""
        SELECT v.row_no, o.id, coalesce(o.customer_id, w.customer_id),
               CASE WHEN v.ext IS NULL THEN
                         CASE WHEN EXISTS (SELECT 1 FROM cdp_bulk_people p WHERE p.id = w.customer_id) THEN 'created'
                              WHEN EXISTS (SELECT 1 FROM {CHANGE_LOGS} l WHERE l.customer_id = w.customer_id
                                                                          AND l.created_at = now()) THEN 'updated'
                              ELSE 'unchanged' END
                    WHEN NOT w.stored THEN 'created'
                    WHEN EXISTS (SELECT 1 FROM cdp_bulk_changed ch WHERE ch.row_no = v.row_no) THEN 'updated'
                    ELSE 'unchanged' END
          FROM cdp_bulk_rows v
          JOIN cdp_bulk_owner w ON w.row_no = v.row_no
          LEFT JOIN {ORDERS} o ON o.source = v.src AND o.external_order_id = v.ext AND o.partner = v.partner
         ORDER BY v.row_no""")
    return [RowOutcome(*row) for row in cursor.fetchall()]


def records_write(*, cleaned: list[tuple[int, CleanOrder]], actor: Actor, tenant,
                  counted: tuple[str, ...] | None = None) -> list[RowOutcome]:
    """Write validated records (``(index, clean)``, at most one per order) set-based, under the
    rules of the bulk engine; returns one outcome per record. Runs in the caller's transaction
    (events are published when it commits); raises QuotaExceeded (nothing written) past the
    plan's customer limit."""
    with gc_paused():
        rows = [_row(index, clean) for index, clean in cleaned]
    for attempt in range(ATTEMPTS):
        try:
            with transaction.atomic(), records_mode(), connection.cursor() as cursor:
                ingest_lock_shared(cursor)
                # Read under the lock: a change of the rule waits for the batches running.
                statuses = counted or counted_statuses()
                cursor.execute(DROP_SCRATCH_TABLES)
                cursor.execute(_CREATE_ROWS)
                with cursor.cursor.copy(f"COPY cdp_bulk_rows ({', '.join(ROW_COLUMNS)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                # Statistics for the join keys only (as the file feed does)
                cursor.execute("ANALYZE cdp_bulk_rows (row_no, src, ext, email, cext, doc_type, doc, pkey)")
                created = rows_resolve_and_write(cursor, actor=actor, tenant=tenant, result=BulkResult(),
                                                 counted=statuses, say=lambda message: None)
                outcomes = _outcomes(cursor)
                publish_events(cursor, created)
                cursor.execute(DROP_SCRATCH_TABLES)
            return outcomes
        except (IntegrityError, OperationalError) as exc:
            # Lost a race on a unique key (a concurrent batch created the same person, identity or
            # order, and committed while we waited on it) or chosen as a deadlock's victim: nothing
            # of this attempt is kept; the next one finds the winner's rows.
            if getattr(exc.__cause__, "sqlstate", None) not in RETRIED or attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
