"""``orders_bulk_load``: the pipeline, one named step per stage (stage, validate, resolve, create,
write, recompute), all in one transaction under the tenant's ingest lock."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from django.db import DatabaseError, connection, transaction

from cdp import registry as cdp_registry
from cdp.context import Actor
from cdp.exceptions import ApplicationError
from cdp.ops import metrics as ops_metrics
from customers.codes import AuditAction, ErrorCode
from customers.models import Customer
from customers.selectors.sales import counted_statuses
from customers.services.bulk.columns import (
    CUSTOMERS,
    DROP_SCRATCH_TABLES,
    IDENTITIES,
    INVALID_COLUMNS_MESSAGE,
    ORDER_VALUE_FIELDS,
    ORDERS,
    PERSON_KEY_EMAIL,
    PROFILE_FIELDS,
    BulkResult,
    csv_columns,
    document_match_sql,
    invalid_columns,
    in_records_mode,
    missing_columns,
    scratch,
)
from customers.services.bulk.documents import rows_documents_check, rows_postal_codes_check
from customers.services.bulk.indexes import indexes_deferred
from customers.services.bulk.validation_sql import errors_decode, stage_sql
from customers.services.bulk.writes import apply_profiles, publish_events, upsert_orders, write_addresses
from customers.services.locks import ingest_lock_exclusive
from customers.services.sales import customer_aggregates_write
from tenants.services import audit_record

SOURCE_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,49}$")


def orders_bulk_load(
    *, path: Path, actor: Actor, tenant, default_source: str = "import",
    progress: Callable[[str], None] | None = None,
) -> BulkResult:
    """Load a CSV of canonical orders set-based (see the package docstring for the rules).
    Raises ApplicationError(code="missing_columns") before writing when the header lacks a
    required column, and QuotaExceeded (nothing written) past the plan's customer limit."""
    say = progress or (lambda message: None)
    path = Path(path)
    columns = _header_check(path)
    default_source = default_source.lower()
    if not SOURCE_RE.match(default_source):
        raise ApplicationError("Invalid default source.", fields={"source": ["Lowercase letters and digits."]})
    currency = tenant.setting("currency")
    if not re.match(r"^[A-Z]{3}$", str(currency)):
        currency = "USD"
    result = BulkResult()

    with transaction.atomic(), connection.cursor() as cursor:
        ingest_lock_exclusive(cursor)
        # Read under the lock: a change of the rule waits for this load (see counted_statuses_set).
        counted = counted_statuses()
        _session_prepare(cursor, tenant)
        say("copying")
        stage_columns = _stage(cursor, path, columns)
        say("validating")
        result.rejected = _validate(cursor, stage_columns, default_source=default_source, currency=currency)
        say("resolving customers")
        created_orders = rows_resolve_and_write(cursor, actor=actor, tenant=tenant, result=result,
                                                counted=counted, say=say)
        publish_events(cursor, created_orders)
        cursor.execute(DROP_SCRATCH_TABLES)
        audit_record(actor=actor, action=AuditAction.ORDERS_BULK_LOAD, resource_type="order", tenant=tenant,
                     changes={"file": path.name, **result.as_dict()})
    ops_metrics.orders_ingested(source=default_source, counts={
        "created": result.created, "updated": result.updated, "unchanged": result.unchanged,
        "rejected": len(result.rejected)})
    return result


def rows_resolve_and_write(cursor, *, actor: Actor, tenant, result: BulkResult, counted: tuple[str, ...],
                           say: Callable[[str], None]) -> list[tuple[int, int]]:
    """The engine both feeds share (a CSV file staged by ``orders_bulk_load``, a batch of records
    staged by ``customers.services.bulk.records``): from validated rows in ``cdp_bulk_rows``,
    resolve their customers, create the new people, apply profiles, record identities, upsert
    orders, items and addresses and recompute aggregates. Counts land in ``result``; returns the
    new orders' (id, customer_id) when someone listens to ``order.ingested``."""
    _known_customers_match(cursor)
    _new_people_group(cursor)
    adding = _new_people_count(cursor, counted)
    if adding:
        # (Refused here, the ids drawn above are skipped: a gap in the sequence, nothing more.)
        cdp_registry.quota_check("customers", tenant=tenant, adding=adding)
        say(f"creating {adding:,} customers")
        result.customers_created = _new_customers_insert(cursor, adding)
    known, has_items, has_addresses, new_orders = _owners(cursor)
    if known:
        say("updating known customers")
        apply_profiles(cursor, actor)
    _identities_write(cursor)
    say("writing orders")
    created_orders = upsert_orders(cursor, actor, result, has_items=bool(has_items), new_orders=new_orders)
    if has_addresses:
        write_addresses(cursor)
    say("recomputing aggregates")
    # New customers got exact aggregates at insert; known ones (and owners of updated orders)
    # are recomputed from their orders.
    customer_aggregates_write(
        cursor, ids_sql="SELECT customer_id FROM cdp_bulk_match UNION SELECT customer_id FROM cdp_bulk_old",
        statuses=counted)
    return created_orders


def _header_check(path: Path) -> list[str]:
    """The file's column names, or ApplicationError (``invalid_columns``, ``missing_columns``)."""
    columns = csv_columns(path)
    invalid = invalid_columns(columns)
    if invalid:
        raise ApplicationError(INVALID_COLUMNS_MESSAGE.format(", ".join(invalid)), code=ErrorCode.COLUMNS_INVALID,
                               fields={"columns": invalid})
    missing = missing_columns(columns)
    if missing:
        raise ApplicationError(f"Missing columns: {', '.join(missing)}.", code=ErrorCode.COLUMNS_MISSING,
                               fields={"columns": missing})
    return columns


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _session_prepare(cursor, tenant) -> None:
    """Scratch tables are UNLOGGED tables of the tenant's schema, not TEMP ones: a million wide rows
    belong in shared buffers, not in a session's temp_buffers (8MB by default). Created and
    dropped inside this transaction, they are never seen by another session, and a failure rolls
    them back with everything else. The tenant's ingest lock, held exclusively, keeps a second
    bulk load of the tenant from colliding."""
    cursor.execute(DROP_SCRATCH_TABLES)
    # A re-runnable import may lose its last commit on a crash; it saves a WAL flush wait.
    cursor.execute("SET LOCAL synchronous_commit = off")
    cursor.execute("SET LOCAL work_mem = '256MB'")
    cursor.execute("SELECT set_config('TimeZone', %s, true)", [tenant.setting("timezone") or "UTC"])


def _stage(cursor, path: Path, columns: list[str]) -> list[str]:
    """COPY the file into ``cdp_bulk_stage``, every column as text; returns the staged column names.
    Unknown columns are staged under their own names too: ``raw`` keeps the whole source row."""
    stage_columns: list[str] = []
    for index, name in enumerate(columns):
        if not name or name == "row_no" or name in stage_columns:
            name = f"column_{index + 1}"
        stage_columns.append(name)
    cols_sql = ", ".join(f"{_quoted(name)} text" for name in stage_columns)
    cursor.execute(f"CREATE {scratch()} TABLE cdp_bulk_stage (row_no bigint GENERATED ALWAYS AS IDENTITY, {cols_sql})")
    copy_cols = ", ".join(_quoted(name) for name in stage_columns)
    with open(path, "rb") as handle, cursor.cursor.copy(
            f"COPY cdp_bulk_stage ({copy_cols}) FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
        while chunk := handle.read(1 << 20):
            copy.write(chunk)
    return stage_columns


def _validate(cursor, stage_columns: list[str], *, default_source: str, currency: str) -> list[tuple[int, dict]]:
    """Normalize and validate the staged rows into ``cdp_bulk_rows``; the rejected rows (invalid,
    or repeating an order of an earlier row) are reported and removed."""
    for statement, params in stage_sql(default_source, currency, stage_columns):
        cursor.execute(statement, params)
    rows_documents_check(cursor)
    rows_postal_codes_check(cursor)
    cursor.execute("""
        SELECT row_no, errors FROM cdp_bulk_rows WHERE errors <> ''
        UNION ALL
        SELECT v.row_no, E'external_order_id\\tSame order as row ' || d.first_row || ' of this file.'
          FROM cdp_bulk_dups d
          JOIN cdp_bulk_rows v ON v.src = d.src AND v.ext = d.ext AND v.partner = d.partner
         WHERE v.row_no > d.first_row AND v.errors = ''
         ORDER BY 1""")
    rejected = [(row_no, errors_decode(errors)) for row_no, errors in cursor.fetchall()]
    if rejected:
        cursor.execute("""DELETE FROM cdp_bulk_rows v WHERE v.errors <> '' OR EXISTS (
                            SELECT 1 FROM cdp_bulk_dups d WHERE d.src = v.src AND d.ext = v.ext
                                                            AND d.partner = v.partner
                                                            AND v.row_no > d.first_row)""")
    # Statistics for the join keys only: a full ANALYZE of the wide rows costs seconds.
    cursor.execute("ANALYZE cdp_bulk_rows (row_no, src, ext, email, cext, doc_type, doc, pkey)")
    return rejected


def _known_customers_match(cursor) -> None:
    """``cdp_bulk_match``: the rows of known customers, and ``cdp_bulk_old``: the rows of orders
    stored already (they keep their customer; they are updates, not new purchases)."""
    # Known customers, in resolution order: identity, then email, then document.
    cursor.execute(f"""
        CREATE {scratch()} TABLE cdp_bulk_match AS
        SELECT v.row_no, coalesce(ci.merged_into_id, ci.id, ce.merged_into_id, ce.id, cd.merged_into_id, cd.id)
               AS customer_id
          FROM cdp_bulk_rows v
          LEFT JOIN {IDENTITIES} i ON i.source = v.src AND i.external_id = v.cext
          LEFT JOIN {CUSTOMERS} ci ON ci.id = i.customer_id
          LEFT JOIN {CUSTOMERS} ce ON ce.email = v.email
          LEFT JOIN {CUSTOMERS} cd ON {document_match_sql("cd", "v")}
         WHERE ci.id IS NOT NULL OR ce.id IS NOT NULL OR cd.id IS NOT NULL""")
    # Rows sharing an identity or a document with a matched row belong to that customer too.
    for a, b in (("src", "cext"), ("doc_type", "doc")):
        cursor.execute(f"""
            INSERT INTO cdp_bulk_match
            SELECT DISTINCT ON (v.row_no) v.row_no, m.customer_id
              FROM cdp_bulk_match m
              JOIN cdp_bulk_rows w ON w.row_no = m.row_no
              JOIN cdp_bulk_rows v ON v.{a} = w.{a} AND v.{b} = w.{b} AND v.row_no <> w.row_no
             WHERE w.{b} IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM cdp_bulk_match x WHERE x.row_no = v.row_no)
             ORDER BY v.row_no, w.row_no""")
    cursor.execute("CREATE UNIQUE INDEX ON cdp_bulk_match (row_no)")
    cursor.execute("ANALYZE cdp_bulk_match")
    cursor.execute(f"""
        CREATE {scratch()} TABLE cdp_bulk_old AS
        SELECT o.id, o.customer_id, v.row_no, {", ".join(f"o.{f}" for f in ORDER_VALUE_FIELDS)}
          FROM {ORDERS} o JOIN cdp_bulk_rows v
            ON v.src = o.source AND v.ext = o.external_order_id AND v.partner = o.partner""")
    cursor.execute("CREATE UNIQUE INDEX ON cdp_bulk_old (row_no)")
    cursor.execute("ANALYZE cdp_bulk_old")
    # An erased person's order sent again belongs to them and updates the order only: it must
    # not re-create the person (a new customer) nor fill any profile (as on the record path).
    erased_rows = ("SELECT o.row_no, o.customer_id FROM cdp_bulk_old o "
                   f"JOIN {CUSTOMERS} c ON c.id = o.customer_id WHERE c.is_pseudonymized")
    cursor.execute(f"DELETE FROM cdp_bulk_match m USING ({erased_rows}) e WHERE m.row_no = e.row_no")
    cursor.execute(f"INSERT INTO cdp_bulk_match (row_no, customer_id) {erased_rows}")
    touched = "SELECT customer_id FROM cdp_bulk_match UNION SELECT customer_id FROM cdp_bulk_old"
    if in_records_mode():
        # Concurrent batches may reach one customer through different keys (one by email, one by
        # identity): the first to lock it writes, the other waits, then sees its orders when it
        # recomputes the aggregates. In id order, so two batches never wait on each other.
        cursor.execute(f"SELECT 1 FROM (SELECT id FROM {CUSTOMERS} WHERE id IN ({touched}) ORDER BY id "
                       "FOR UPDATE) locked")
    elif _foreign_key_triggers_off(cursor):
        # Rows of this load reference only customers it creates and these existing ones (and
        # existing products, locked in upsert_orders): hold them the way the skipped
        # per-row checks would have, so that nobody deletes them before we commit.
        cursor.execute(f"SELECT 1 FROM {CUSTOMERS} WHERE id IN ({touched}) FOR KEY SHARE")


def _new_people_group(cursor) -> None:
    """New people: rows sharing an email, an identity or a document are one person (one person
    key, ``pkey``). Keys sort email < identity < document (``columns.PERSON_KEY_*``), so a group
    takes its email when any row has one."""
    for group in ("src, cext", "doc_type, doc"):
        a, b = group.split(", ")
        cursor.execute(f"""
            UPDATE cdp_bulk_rows v SET pkey = g.k
              FROM (SELECT {group}, min(pkey) AS k, max(pkey) AS k2 FROM cdp_bulk_rows r
                     WHERE {b} IS NOT NULL
                       AND NOT EXISTS (SELECT 1 FROM cdp_bulk_match m WHERE m.row_no = r.row_no)
                     GROUP BY {group}) g
             WHERE g.k <> g.k2 AND v.{a} = g.{a} AND v.{b} = g.{b} AND v.pkey > g.k
               AND NOT EXISTS (SELECT 1 FROM cdp_bulk_match m WHERE m.row_no = v.row_no)""")


def _new_people_count(cursor, counted: tuple[str, ...]) -> int:
    """``cdp_bulk_people``: one row per new person, with a new customer id, the newest non-empty
    value of each profile field (and its source) and the aggregates of their new counted orders;
    returns how many."""
    # Every aggregate orders by od DESC: the rows are sorted once, not once per aggregate.
    cursor.execute(f"""
        CREATE {scratch()} TABLE cdp_bulk_people AS
        SELECT pkey, nextval(pg_get_serial_sequence('{CUSTOMERS}', 'id')) AS id,
               (array_agg(src ORDER BY od DESC))[count(*)] AS first_source,
               CASE WHEN left(pkey, %(key_length)s) = %(email_key)s THEN substr(pkey, %(key_length)s + 1) END
                 AS email,
               (array_agg(doc_type ORDER BY od DESC) FILTER (WHERE doc IS NOT NULL))[1] AS doc_type,
               (array_agg(doc ORDER BY od DESC) FILTER (WHERE doc IS NOT NULL))[1] AS doc,
               (array_agg(src ORDER BY od DESC) FILTER (WHERE doc IS NOT NULL))[1] AS doc_src,
               (array_agg(doc_hash ORDER BY od DESC) FILTER (WHERE doc IS NOT NULL))[1] AS doc_hash,
               (array_agg(doc_enc ORDER BY od DESC) FILTER (WHERE doc IS NOT NULL))[1] AS doc_enc,
               {", ".join(
                   f"(array_agg({name} ORDER BY od DESC) FILTER (WHERE {name}::text <> ''))[1] AS {name}, "
                   f"(array_agg(src ORDER BY od DESC) FILTER (WHERE {name}::text <> ''))[1] AS {name}_src"
                   for name, _ in PROFILE_FIELDS)},
               count(*) FILTER (WHERE counted AND NOT existing) AS n,
               coalesce(sum(total_amount) FILTER (WHERE counted AND NOT existing), 0) AS spent,
               min(od) FILTER (WHERE counted AND NOT existing) AS first_at,
               max(od) FILTER (WHERE counted AND NOT existing) AS last_at
          FROM (SELECT v.*, v.status = ANY(%(counted)s) AS counted,
                       o.row_no IS NOT NULL AS existing
                  FROM cdp_bulk_rows v LEFT JOIN cdp_bulk_old o ON o.row_no = v.row_no
                 WHERE NOT EXISTS (SELECT 1 FROM cdp_bulk_match m WHERE m.row_no = v.row_no)) x
         GROUP BY pkey""", {"counted": list(counted), "email_key": PERSON_KEY_EMAIL,
                            "key_length": len(PERSON_KEY_EMAIL)})
    return cursor.rowcount


def _new_customers_insert(cursor, adding: int) -> int:
    """The new people as customers, written once with their aggregates (no second pass over
    them); returns how many."""
    # A document named by two new people goes to the first only (the other is a duplicate).
    cursor.execute("""UPDATE cdp_bulk_people p SET doc = NULL, doc_type = NULL, doc_hash = NULL, doc_enc = NULL FROM (
                        SELECT id, row_number() OVER (PARTITION BY doc_type, doc ORDER BY id) AS rank
                          FROM cdp_bulk_people WHERE doc IS NOT NULL) d WHERE d.id = p.id AND d.rank > 1""")
    sources_json = ("jsonb_strip_nulls(jsonb_build_object('email', CASE WHEN email IS NOT NULL THEN "
                    "first_source END, 'document_type', doc_src, 'document_number', doc_src, "
                    + ", ".join(f"'{name}', {name}_src" for name, _ in PROFILE_FIELDS) + "))")
    with indexes_deferred(cursor, CUSTOMERS, adding):
        cursor.execute(f"""
            INSERT INTO {CUSTOMERS} (id, email, phone, document_type, document_number, document_hash, document_valid,
                first_name,
                last_name, birth_date, gender, city, state, country, customer_type, status, marketing_consent,
                tags, metadata, notes, source, field_sources, total_orders, total_spent, avg_order_value,
                first_purchase_at, last_purchase_at, is_pseudonymized, created_at, updated_at)
            SELECT id, email, coalesce(phone, ''), coalesce(doc_type, ''), doc_enc, doc_hash,
                   CASE WHEN doc_enc IS NOT NULL THEN true END, coalesce(first_name, ''),
                   coalesce(last_name, ''), birth_date, coalesce(gender, ''), coalesce(city, ''),
                   coalesce(state, ''), coalesce(country, ''), %(customer_type)s, %(status)s, false, '{{}}', '{{}}',
                   '', first_source, {sources_json}, n, spent,
                   CASE WHEN n > 0 THEN round(spent / n, 2) ELSE 0 END, first_at, last_at, false, now(), now()
              FROM cdp_bulk_people""", {"customer_type": Customer.Type.B2C.value, "status": Customer.Status.ACTIVE.value})
        created = cursor.rowcount
    cursor.execute("CREATE UNIQUE INDEX ON cdp_bulk_people (pkey)")
    cursor.execute("ANALYZE cdp_bulk_people (pkey, id)")
    return created


def _owners(cursor) -> tuple[bool, bool, bool, int]:
    """``cdp_bulk_owner``: every row's customer (known, matched, or just created) and whether its
    order is stored already, in a narrow table the later steps join on row_no (copying the wide
    rows to add three columns cost seconds and a gigabyte of buffers per million rows). Returns
    what the file holds: known customers, items, addresses, and how many new orders (each later
    step is skipped when it has nothing to do)."""
    cursor.execute(f"""
        CREATE {scratch()} TABLE cdp_bulk_owner AS
        SELECT v.row_no, v.src, v.cext, coalesce(m.customer_id, p.id) AS customer_id,
               o.row_no IS NOT NULL AS stored, v.items IS NOT NULL AS has_items,
               v.addr_line1 <> '' AS has_address
          FROM cdp_bulk_rows v
          LEFT JOIN cdp_bulk_match m ON m.row_no = v.row_no
          LEFT JOIN cdp_bulk_people p ON m.row_no IS NULL AND p.pkey = v.pkey
          LEFT JOIN cdp_bulk_old o ON o.row_no = v.row_no""")
    cursor.execute("ANALYZE cdp_bulk_owner (row_no)")
    cursor.execute("SELECT EXISTS (SELECT 1 FROM cdp_bulk_match), bool_or(has_items), bool_or(has_address), "
                   "count(*) FILTER (WHERE NOT stored) FROM cdp_bulk_owner")
    return cursor.fetchone()


def _identities_write(cursor) -> None:
    """Every (source, external id) of the file, owned by the customer of its first row: known ones
    are marked seen, new ones inserted (no concurrent writer: we hold the ingest lock), in key
    order: appending to the unique index beats inserting all over it (2 s a million)."""
    cursor.execute(f"""
        WITH firsts AS (SELECT src, cext, min(row_no) AS row_no FROM cdp_bulk_owner WHERE cext IS NOT NULL
                         GROUP BY src, cext),
        seen AS (UPDATE {IDENTITIES} i SET last_seen_at = now() FROM firsts f
                  WHERE i.source = f.src AND i.external_id = f.cext RETURNING i.id)
        INSERT INTO {IDENTITIES} (customer_id, source, external_id, created_at, last_seen_at)
        SELECT w.customer_id, f.src, f.cext, now(), now()
          FROM firsts f JOIN cdp_bulk_owner w ON w.row_no = f.row_no
         WHERE NOT EXISTS (SELECT 1 FROM {IDENTITIES} i
                            WHERE i.source = f.src AND i.external_id = f.cext)
           AND NOT EXISTS (SELECT 1 FROM {CUSTOMERS} e  -- never re-attach an erased person
                            WHERE e.id = w.customer_id AND e.is_pseudonymized)
         ORDER BY f.src, f.cext""")


def _foreign_key_triggers_off(cursor) -> bool:
    """Skip PostgreSQL's per-row foreign-key checks for the rest of the transaction when the
    database role may (superuser, as the embedded server's is, or granted SET on the parameter).
    Each check locks the referenced row and writes WAL for it: a million orders spent longer in
    those checks at commit than in their insert. Without the privilege the checks simply run."""
    try:
        with transaction.atomic():
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        return False
    return True
