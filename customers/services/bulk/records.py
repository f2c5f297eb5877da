"""The bulk engine fed from records: API batches, JSON Lines, inbound hooks and connector pages.

``order_ingest`` validates each record in Python (the field-level messages senders see), then
hands the valid ones here. They are COPYed, already normalized, into a TEMP ``cdp_bulk_rows`` and
go through the same SQL steps as a CSV file (``load.rows_resolve_and_write``): a batch of 1,000
orders is a few dozen statements instead of ten per order.

Concurrency. A file holds the tenant's ingest lock exclusively; a batch holds it shared (no file
load and no change of the counted-sale rule meanwhile) and, before it reads anything, takes one
advisory lock per key it names: each email, (source, customer id), document and order. Two
batches naming the same new person (or order) therefore run one after the other, the second
finding what the first committed; batches naming different people run side by side. Keys are
locked in the order of their lock ids, so two batches never wait on each other. The customers a
batch reaches are then locked by id (see ``load._known_customers_match``), which covers one person
reached through different keys. Should PostgreSQL still report a deadlock, the batch is retried
from its savepoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import OperationalError, connection, transaction
from psycopg.types.json import Jsonb

from cdp.context import Actor
from customers.selectors.sales import counted_statuses
from customers.services.bulk.columns import (
    ADDRESS_COLUMNS,
    AMOUNT_COLUMNS,
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
from customers.services.bulk.writes import publish_events
from customers.services.locks import ingest_lock_shared
from customers.services.validation import ORDER_TEXT_FIELDS, CleanOrder

#: Attempts of a batch that PostgreSQL chose as a deadlock's victim.
DEADLOCK_ATTEMPTS = 3

#: ``cdp_bulk_rows`` as the CSV feed's validation step makes it (``validation_sql.KEPT_COLUMNS``,
#: then the phone, the person key and the errors), with the types the later steps expect.
_TYPES = {"row_no": "bigint", "od": "timestamptz", "birth_date": "date", "items": "jsonb", "raw": "jsonb",
          **{name: "numeric" for name in AMOUNT_COLUMNS}}
ROW_COLUMNS = (*KEPT_COLUMNS, "phone", "pkey", "errors")
_CREATE_ROWS = ("CREATE TEMP TABLE cdp_bulk_rows ("
                + ", ".join(f"{name} {_TYPES.get(name, 'text')}" for name in ROW_COLUMNS) + ")")


@dataclass
class RowOutcome:
    """What happened to one staged row (``row_no`` is the record's index in the batch)."""

    row_no: int
    order_id: int
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
        "row_no": index, "src": clean.source, "ext": clean.external_order_id, "od": clean.order_date,
        "status": str(clean.status), "currency": clean.currency, "total_amount": clean.total_amount,
        **{name: clean.amounts.get(name) for name in AMOUNT_COLUMNS if name != "total_amount"},
        "payment_method": clean.payment_method, **{name: clean.details[name] for name in ORDER_TEXT_FIELDS},
        "email": email, "cext": cext, "doc_type": doc_type, "doc": doc,
        **{name: profile.get(name) or None for name in ("first_name", "last_name", "city", "state", "gender",
                                                        "phone")},
        "birth_date": profile.get("birth_date"), "country": profile.get("country", ""), "items": items,
        **{f"addr_{name}": str(address.get(name) or "") for name in ADDRESS_COLUMNS},
        "raw": None if clean.raw is None else _json(clean.raw), "pkey": pkey, "errors": "",
    }
    return tuple(values[name] for name in ROW_COLUMNS)


def _lock_keys(cleaned: list[tuple[int, CleanOrder]]) -> list[str]:
    """Every person and order key the batch names (see the module docstring)."""
    keys = set()
    for _, clean in cleaned:
        keys.add(f"o:{clean.source}:{clean.external_order_id}")
        if clean.profile.get("email"):
            keys.add("e:" + clean.profile["email"])
        if clean.customer_external_id:
            keys.add(f"x:{clean.source}:{clean.customer_external_id}")
        if clean.profile.get("document_number"):
            keys.add(f"d:{clean.profile['document_type']}:{clean.profile['document_number']}")
    return sorted(keys)


def batch_keys_lock(cursor, keys: list[str]) -> None:
    """Until the transaction ends: the advisory lock of each key, in the tenant's key space,
    taken in the order of the lock ids (a hash collision only makes two batches take turns)."""
    cursor.execute("""
        SELECT count(pg_advisory_xact_lock(t, k))
          FROM (SELECT DISTINCT hashtext(%s) AS t, hashtext(key) AS k FROM unnest(%s::text[]) AS key
                 ORDER BY 1, 2) keys""", [f"customers.ingest.keys:{connection.schema_name}", keys])


def _outcomes(cursor) -> list[RowOutcome]:
    """Each staged row's order, its customer (the order's: a stored order keeps its customer) and
    what happened to it."""
    cursor.execute(f"""
        SELECT v.row_no, o.id, o.customer_id,
               CASE WHEN NOT w.stored THEN 'created'
                    WHEN EXISTS (SELECT 1 FROM cdp_bulk_changed ch WHERE ch.row_no = v.row_no) THEN 'updated'
                    ELSE 'unchanged' END
          FROM cdp_bulk_rows v
          JOIN cdp_bulk_owner w ON w.row_no = v.row_no
          JOIN {ORDERS} o ON o.source = v.src AND o.external_order_id = v.ext
         ORDER BY v.row_no""")
    return [RowOutcome(*row) for row in cursor.fetchall()]


def records_write(*, cleaned: list[tuple[int, CleanOrder]], actor: Actor, tenant,
                  counted: tuple[str, ...] | None = None) -> list[RowOutcome]:
    """Write validated records (``(index, clean)``, at most one per order) set-based, under the
    rules of the bulk engine; returns one outcome per record. Runs in the caller's transaction
    (events are published when it commits); raises QuotaExceeded (nothing written) past the
    plan's customer limit."""
    rows = [_row(index, clean) for index, clean in cleaned]
    keys = _lock_keys(cleaned)
    for attempt in range(DEADLOCK_ATTEMPTS):
        try:
            with transaction.atomic(), records_mode(), connection.cursor() as cursor:
                ingest_lock_shared(cursor)
                batch_keys_lock(cursor, keys)
                # Read under the lock: a change of the rule waits for the batches running.
                statuses = counted or counted_statuses()
                cursor.execute(DROP_SCRATCH_TABLES)
                cursor.execute(_CREATE_ROWS)
                with cursor.cursor.copy(f"COPY cdp_bulk_rows ({', '.join(ROW_COLUMNS)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                cursor.execute("ANALYZE cdp_bulk_rows")
                created = rows_resolve_and_write(cursor, actor=actor, tenant=tenant, result=BulkResult(),
                                                 counted=statuses, say=lambda message: None)
                outcomes = _outcomes(cursor)
                publish_events(cursor, created)
                cursor.execute(DROP_SCRATCH_TABLES)
            return outcomes
        except OperationalError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != "40P01" or attempt == DEADLOCK_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
