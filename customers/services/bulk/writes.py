"""The writing steps of the bulk loader: known profiles, orders, items, addresses, events."""

from __future__ import annotations

import gc
from contextlib import contextmanager

from cdp.context import Actor
from customers.models import DEFAULT_SOURCE_PRIORITY, MANUAL_PRIORITY, MANUAL_SOURCE, Address
from customers.registry import has_subscribers, publish_on_commit
from customers.services.bulk.columns import (
    ADDRESS_COLUMNS,
    ADDRESSES,
    CHANGE_LOGS,
    CUSTOMERS,
    ORDER_ITEMS,
    ORDER_ROW_FIELDS,
    ORDER_VALUE_FIELDS,
    ORDERS,
    PRODUCTS,
    PROFILE_FIELDS,
    SOURCE_PRIORITIES,
    BulkResult,
    in_records_mode,
    scratch,
)
from customers.services.bulk.indexes import indexes_deferred


def priority_values(cursor) -> str:
    """The tenant's ranking as a scratch table (manual on top), for joins."""
    cursor.execute(f"CREATE {scratch()} TABLE IF NOT EXISTS cdp_bulk_priority (source text PRIMARY KEY, priority int)")
    cursor.execute(f"INSERT INTO cdp_bulk_priority SELECT source, priority FROM {SOURCE_PRIORITIES} "
                   "UNION ALL SELECT %s, %s ON CONFLICT DO NOTHING", [MANUAL_SOURCE, MANUAL_PRIORITY])
    return "(SELECT source, priority FROM cdp_bulk_priority)"


def apply_profiles(cursor, actor: Actor) -> None:
    """Fill or overwrite known customers' fields under the conflict rule, logging each change
    (called when the file names known customers)."""
    priorities = priority_values(cursor)
    label = actor.label[:255]
    fields = [*PROFILE_FIELDS, ("email", "text")]
    for name, sql_type in fields:
        value = "email" if name == "email" else name
        unique_guard = (f"AND NOT EXISTS (SELECT 1 FROM {CUSTOMERS} o WHERE o.email = cand.val)"
                        if name == "email" else "")
        cursor.execute(f"""
            WITH cand AS (
              SELECT DISTINCT ON (m.customer_id) m.customer_id, v.src, v.{value}::{sql_type} AS val
                FROM cdp_bulk_match m JOIN cdp_bulk_rows v ON v.row_no = m.row_no
               WHERE v.{value} IS NOT NULL AND v.{value}::text <> ''
               ORDER BY m.customer_id, v.od DESC, v.row_no DESC
            ), {"dedup AS (SELECT DISTINCT ON (val) * FROM cand ORDER BY val, customer_id)," if name == "email" else ""}
            chosen AS (
              SELECT c.id, c.{name}::text AS old, cand.val, cand.src,
                     coalesce(c.field_sources->>'{name}', c.source) AS cur_src,
                     CASE WHEN c.{name} IS NULL OR c.{name}::text = '' THEN 'filled empty value'
                          WHEN coalesce(c.field_sources->>'{name}', c.source) = cand.src THEN 'bulk import'
                          ELSE 'bulk import; ' || cand.src || ' outranks '
                               || coalesce(c.field_sources->>'{name}', c.source) END AS reason
                FROM {"dedup" if name == "email" else "cand"} cand
                JOIN {CUSTOMERS} c ON c.id = cand.customer_id
                LEFT JOIN {priorities} AS pn(source, priority) ON pn.source = cand.src
                LEFT JOIN {priorities} AS po(source, priority)
                       ON po.source = coalesce(c.field_sources->>'{name}', c.source)
               WHERE NOT c.is_pseudonymized AND c.{name} IS DISTINCT FROM cand.val
                 AND (c.{name} IS NULL OR c.{name}::text = ''
                      OR coalesce(c.field_sources->>'{name}', c.source) = cand.src
                      OR coalesce(pn.priority, {DEFAULT_SOURCE_PRIORITY}) > coalesce(po.priority, {DEFAULT_SOURCE_PRIORITY}))
                 {unique_guard}
            ), upd AS (
              UPDATE {CUSTOMERS} c SET {name} = chosen.val, updated_at = now(),
                     field_sources = c.field_sources || jsonb_build_object('{name}', chosen.src)
                FROM chosen WHERE c.id = chosen.id RETURNING c.id
            )
            INSERT INTO {CHANGE_LOGS} (customer_id, field, old_value, new_value, source, changed_by,
                                                     reason, created_at)
            SELECT chosen.id, '{name}', chosen.old, chosen.val::text, chosen.src, %s, left(chosen.reason, 255), now()
              FROM chosen JOIN upd ON upd.id = chosen.id""", [label])
    # The document changes as a pair, and only when nobody else holds it. Documents are sealed:
    # they are compared by keyed hash (any key's, during a rotation), and the change log gets the
    # sealed values (customers/documents.py).
    cursor.execute(f"""
        WITH cand AS (
          SELECT DISTINCT ON (m.customer_id) m.customer_id, v.src, v.doc_type, v.doc, v.doc_hash, v.doc_hashes,
                 v.doc_enc
            FROM cdp_bulk_match m JOIN cdp_bulk_rows v ON v.row_no = m.row_no WHERE v.doc IS NOT NULL
           ORDER BY m.customer_id, v.od DESC, v.row_no DESC
        ), dedup AS (SELECT DISTINCT ON (doc_type, doc) * FROM cand ORDER BY doc_type, doc, customer_id),
        chosen AS (
          SELECT c.id, c.document_type AS old_type, c.document_number AS old_doc, d.doc_type, d.doc_enc, d.doc_hash,
                 NOT coalesce(c.document_hash = ANY(d.doc_hashes), false) AS number_changed, d.src,
                 CASE WHEN c.document_number IS NULL THEN 'filled empty value' ELSE 'bulk import' END AS reason
            FROM dedup d JOIN {CUSTOMERS} c ON c.id = d.customer_id
            LEFT JOIN {priorities} AS pn(source, priority) ON pn.source = d.src
            LEFT JOIN {priorities} AS po(source, priority)
                   ON po.source = coalesce(c.field_sources->>'document_number', c.source)
           WHERE NOT c.is_pseudonymized
             AND NOT (c.document_type = d.doc_type AND coalesce(c.document_hash = ANY(d.doc_hashes), false))
             AND NOT EXISTS (SELECT 1 FROM {CUSTOMERS} o WHERE o.document_type = d.doc_type
                                                          AND o.document_hash = ANY(d.doc_hashes))
             AND (c.document_number IS NULL
                  OR coalesce(c.field_sources->>'document_number', c.source) = d.src
                  OR coalesce(pn.priority, {DEFAULT_SOURCE_PRIORITY}) > coalesce(po.priority, {DEFAULT_SOURCE_PRIORITY}))
        ), upd AS (
          UPDATE {CUSTOMERS} c SET document_type = chosen.doc_type, document_number = chosen.doc_enc,
                 document_hash = chosen.doc_hash, document_valid = true, updated_at = now(),
                 field_sources = c.field_sources || jsonb_build_object('document_type', chosen.src,
                                                                       'document_number', chosen.src)
            FROM chosen WHERE c.id = chosen.id RETURNING c.id
        )
        INSERT INTO {CHANGE_LOGS} (customer_id, field, old_value, new_value, source, changed_by, reason,
                                                 created_at)
        SELECT chosen.id, f.field, f.old, f.new, chosen.src, %s, chosen.reason, now()
          FROM chosen JOIN upd ON upd.id = chosen.id
          CROSS JOIN LATERAL (VALUES ('document_type', chosen.old_type, chosen.doc_type,
                                      chosen.old_type IS DISTINCT FROM chosen.doc_type),
                                     ('document_number', chosen.old_doc, chosen.doc_enc, chosen.number_changed))
               AS f(field, old, new, changed)
         WHERE f.changed""", [label])


def items_sql(alias: str) -> str:
    """A row's items as a comparable text signature (sku|name|qty|price, sorted)."""
    return f"""(SELECT string_agg(concat_ws('|', coalesce(trim(e.item->>'sku'), ''), coalesce(trim(e.item->>'name'), ''),
                        round(coalesce(e.item->>'quantity', '1')::numeric, 3)::text,
                        round(coalesce(e.item->>'unit_price', '0')::numeric, 2)::text), '#' ORDER BY 1)
                  FROM jsonb_array_elements({alias}.items) AS e(item))"""


def upsert_orders(cursor, actor: Actor, result: BulkResult, *, has_items: bool,
                  new_orders: int) -> list[tuple[int, int]]:
    """Update the changed orders of the file, insert the ``new_orders`` new ones with their items;
    returns the new orders' (id, customer_id) when someone listens to ``order.ingested``, else []."""
    # cdp_bulk_old (orders of this file already stored, with their old values) exists already;
    # with items, compare item signatures too.
    items_old = ("(SELECT string_agg(concat_ws('|', i.sku, i.name, i.quantity::text, i.unit_price::text), '#' "
                 f"ORDER BY 1) FROM {ORDER_ITEMS} i WHERE i.order_id = o.id)")
    cursor.execute(f"""
        CREATE {scratch()} TABLE cdp_bulk_itemsig AS
        SELECT o.id, {items_old if has_items else "NULL::text"} AS old_items,
               {items_sql("v") if has_items else "NULL::text"} AS new_items
          FROM cdp_bulk_old o JOIN cdp_bulk_rows v ON v.row_no = o.row_no
         WHERE {"v.items IS NOT NULL" if has_items else "false"}""")
    cursor.execute("SELECT count(*) FROM cdp_bulk_old")
    existing = cursor.fetchone()[0]
    new_values = "(" + ", ".join(f"v.{name}" for name in ORDER_ROW_FIELDS) + ")"
    old_values = "(" + ", ".join(f"o.{name}" for name in ORDER_VALUE_FIELDS) + ")"
    assignments = ", ".join(f"{name} = v.{row}" for name, row in zip(ORDER_VALUE_FIELDS, ORDER_ROW_FIELDS, strict=True))
    # Change-log pairs of the text columns after payment_method (order number, payment status, ...).
    detail_pairs = "".join(f"('{name}', o.{name}, v.{name}), " for name in ORDER_VALUE_FIELDS[9:])
    row_values = ", ".join(f"v.{name}" for name in ORDER_ROW_FIELDS)
    order_columns = ", ".join(ORDER_VALUE_FIELDS)
    address_json = ("CASE WHEN v.addr_line1 <> '' THEN jsonb_build_object(" + ", ".join(
        f"'{c}', v.addr_{c}" for c in ADDRESS_COLUMNS) + ") END")
    # Changed orders: a different value or different items.
    cursor.execute(f"""
        CREATE {scratch()} TABLE cdp_bulk_changed AS
        SELECT o.id, o.customer_id, v.row_no,
               coalesce(sg.old_items IS DISTINCT FROM sg.new_items AND v.items IS NOT NULL, false) AS items_changed
          FROM cdp_bulk_old o JOIN cdp_bulk_rows v ON v.row_no = o.row_no
          LEFT JOIN cdp_bulk_itemsig sg ON sg.id = o.id
         WHERE {old_values} IS DISTINCT FROM {new_values}
            OR (sg.id IS NOT NULL AND sg.old_items IS DISTINCT FROM sg.new_items)""")
    # An erased person's order keeps its scrubbed payload and address (as on the record path).
    cursor.execute(f"""
        UPDATE {ORDERS} o
           SET {assignments},
               raw = CASE WHEN c.is_pseudonymized THEN o.raw ELSE v.raw END,
               shipping_address = CASE WHEN c.is_pseudonymized THEN o.shipping_address
                                       ELSE coalesce({address_json}, o.shipping_address) END,
               updated_at = now()
          FROM cdp_bulk_changed ch JOIN cdp_bulk_rows v ON v.row_no = ch.row_no
               JOIN {CUSTOMERS} c ON c.id = ch.customer_id
         WHERE o.id = ch.id""")
    result.updated = cursor.rowcount
    result.unchanged = existing - result.updated
    cursor.execute(f"""
        INSERT INTO {CHANGE_LOGS} (customer_id, field, old_value, new_value, source, changed_by, reason,
                                                 created_at)
        SELECT ch.customer_id, 'order.' || f.field, f.old, f.new, v.src, %s,
               left('order ' || v.src || ':' || v.ext || ' re-ingested', 255), now()
          FROM cdp_bulk_changed ch JOIN cdp_bulk_old o ON o.id = ch.id JOIN cdp_bulk_rows v ON v.row_no = ch.row_no
          LEFT JOIN cdp_bulk_itemsig sg ON sg.id = ch.id
          CROSS JOIN LATERAL (VALUES ('order_date', o.order_date::text, v.od::text),
                                     ('status', o.status, v.status), ('currency', o.currency, v.currency),
                                     ('total_amount', o.total_amount::text, v.total_amount::text),
                                     ('subtotal', o.subtotal::text, v.subtotal::text),
                                     ('tax_amount', o.tax_amount::text, v.tax_amount::text),
                                     ('shipping_cost', o.shipping_cost::text, v.shipping_cost::text),
                                     ('discount_amount', o.discount_amount::text, v.discount_amount::text),
                                     ('payment_method', o.payment_method, v.payment_method),
                                     {detail_pairs}
                                     ('items', CASE WHEN ch.items_changed THEN sg.old_items END,
                                               CASE WHEN ch.items_changed THEN sg.new_items END))
               AS f(field, old, new)
         WHERE f.old IS DISTINCT FROM f.new""", [actor.label[:255]])
    returning = has_subscribers("order.ingested")  # new order ids for the events
    with indexes_deferred(cursor, ORDERS, new_orders):
        cursor.execute(f"""
            INSERT INTO {ORDERS} (customer_id, source, external_order_id, partner, {order_columns},
                                         shipping_address, raw, created_at, updated_at)
            SELECT w.customer_id, v.src, v.ext, v.partner, {row_values}, {address_json},
                   v.raw, now(), now()
              FROM cdp_bulk_rows v JOIN cdp_bulk_owner w ON w.row_no = v.row_no
             WHERE NOT w.stored AND v.ext IS NOT NULL  -- a lead's or subscriber's row has no order
            {"RETURNING id, customer_id" if returning else ""}""")
        result.created = cursor.rowcount
        with gc_paused():
            created = cursor.fetchall() if returning else []
    if has_items:
        write_items(cursor)
    return created


def write_items(cursor) -> None:
    cursor.execute(f"""
        INSERT INTO {PRODUCTS} (sku, name, category, brand, currency, is_active, metadata, created_at, updated_at)
        SELECT DISTINCT ON (trim(e.item->>'sku')) trim(e.item->>'sku'), left(coalesce(trim(e.item->>'name'), ''), 255),
               '', '', '', true, '{{}}', now(), now()
          FROM cdp_bulk_rows v CROSS JOIN LATERAL jsonb_array_elements(v.items) AS e(item)
         WHERE v.items IS NOT NULL AND nullif(trim(e.item->>'sku'), '') IS NOT NULL
        ON CONFLICT (sku) DO NOTHING""")
    # Items reference existing products: lock them as the foreign-key checks would (see load.py).
    cursor.execute(f"""SELECT 1 FROM {PRODUCTS} WHERE sku IN (
                        SELECT trim(e.item->>'sku') FROM cdp_bulk_rows v
                         CROSS JOIN LATERAL jsonb_array_elements(v.items) AS e(item) WHERE v.items IS NOT NULL)
                      FOR KEY SHARE""")
    cursor.execute(f"DELETE FROM {ORDER_ITEMS} i USING cdp_bulk_changed ch WHERE i.order_id = ch.id "
                   "AND ch.items_changed")
    cursor.execute(f"""
        INSERT INTO {ORDER_ITEMS} (order_id, product_id, sku, name, quantity, unit_price, total_price)
        SELECT o.id, p.id, coalesce(trim(e.item->>'sku'), ''), left(coalesce(trim(e.item->>'name'), ''), 255),
               round(coalesce(e.item->>'quantity', '1')::numeric, 3),
               round(coalesce(e.item->>'unit_price', '0')::numeric, 2),
               round(round(coalesce(e.item->>'quantity', '1')::numeric, 3)
                     * round(coalesce(e.item->>'unit_price', '0')::numeric, 2), 2)
          FROM cdp_bulk_rows v
          JOIN cdp_bulk_owner w ON w.row_no = v.row_no
          JOIN {ORDERS} o ON o.source = v.src AND o.external_order_id = v.ext AND o.partner = v.partner
          CROSS JOIN LATERAL jsonb_array_elements(v.items) WITH ORDINALITY AS e(item, n)
          LEFT JOIN {PRODUCTS} p ON p.sku = nullif(trim(e.item->>'sku'), '')
         WHERE v.items IS NOT NULL
           AND (NOT w.stored
                OR EXISTS (SELECT 1 FROM cdp_bulk_changed ch WHERE ch.row_no = v.row_no AND ch.items_changed))
         ORDER BY o.id, e.n""")


def write_addresses(cursor) -> None:
    """Remember new addresses (same rule as the record path); the first of a type is the default
    (called when the file has addresses)."""
    cursor.execute(f"""
        INSERT INTO {ADDRESSES} (customer_id, address_type, recipient_name, line1, line2, number, neighborhood,
                                       city, state, postal_code, country, phone, is_default, is_active, source,
                                       created_at, updated_at)
        SELECT a.customer_id, a.t, a.addr_recipient_name, a.addr_line1, a.addr_line2, left(a.addr_number, 20),
               left(a.addr_neighborhood, 100), a.addr_city, a.addr_state, left(a.addr_postal_code, 20),
               CASE WHEN a.addr_country ~ '^[A-Za-z]{{2}}$' THEN upper(a.addr_country) ELSE a.country END,
               -- a record's address phone is normalized already (a file's is only validated)
               CASE WHEN %(records)s THEN a.addr_phone ELSE '' END,
               a.rank = 1 AND NOT EXISTS (SELECT 1 FROM {ADDRESSES} d WHERE d.customer_id = a.customer_id
                                           AND d.address_type = a.t AND d.is_default),
               true, a.src, now(), now()
          FROM (SELECT d.*, row_number() OVER (PARTITION BY d.customer_id, d.t
                                               ORDER BY d.first_od, lower(d.addr_line1), d.addr_number,
                                                        d.addr_postal_code, lower(d.addr_city)) AS rank
                  FROM (SELECT DISTINCT ON (w.customer_id, lower(v.addr_line1), v.addr_number, v.addr_postal_code,
                                            lower(v.addr_city), coalesce(nullif(lower(v.addr_type), ''), %(shipping)s))
                               v.*, w.customer_id, coalesce(nullif(lower(v.addr_type), ''), %(shipping)s) AS t,
                               -- the address first used (by order date) becomes the default, as
                               -- when the orders arrive one by one
                               min(v.od) OVER (PARTITION BY w.customer_id, lower(v.addr_line1), v.addr_number,
                                                            v.addr_postal_code, lower(v.addr_city),
                                                            coalesce(nullif(lower(v.addr_type), ''), %(shipping)s))
                                 AS first_od
                          FROM cdp_bulk_rows v JOIN cdp_bulk_owner w ON w.row_no = v.row_no
                          JOIN {CUSTOMERS} c ON c.id = w.customer_id
                         WHERE v.addr_line1 <> '' AND NOT c.is_pseudonymized
                         ORDER BY w.customer_id, lower(v.addr_line1), v.addr_number, v.addr_postal_code,
                                  lower(v.addr_city), coalesce(nullif(lower(v.addr_type), ''), %(shipping)s),
                                  v.od DESC) d) a
         WHERE NOT EXISTS (SELECT 1 FROM {ADDRESSES} e
                            WHERE e.customer_id = a.customer_id AND e.address_type = a.t
                              AND lower(e.line1) = lower(a.addr_line1) AND e.number = left(a.addr_number, 20)
                              AND e.postal_code = left(a.addr_postal_code, 20) AND lower(e.city) = lower(a.addr_city))""",
                   {"shipping": Address.Type.SHIPPING.value, "records": in_records_mode()})


def publish_events(cursor, created_orders: list[tuple[int, int]]) -> None:
    """The events of an ingest, when someone listens (ids only): new customers, known customers
    whose profile changed, and new (``created_orders``, from the insert) and changed orders."""
    events: list = []
    with gc_paused():
        if has_subscribers("customer.created"):
            cursor.execute("SELECT id, first_source FROM cdp_bulk_people ORDER BY id")
            events.extend(("customer.created", {"customer_id": customer_id, "source": source})
                          for customer_id, source in cursor.fetchall())
        if has_subscribers("customer.updated"):
            # Known customers whose profile changed: their change-log rows of this transaction
            # (every row written by it carries its start time, now()).
            cursor.execute(f"""SELECT customer_id, array_agg(DISTINCT field ORDER BY field) FROM {CHANGE_LOGS}
                                WHERE created_at = now() AND field NOT LIKE %s
                                  AND customer_id IN (SELECT customer_id FROM cdp_bulk_match)
                                GROUP BY customer_id ORDER BY customer_id""", ["order.%"])
            events.extend(("customer.updated", {"customer_id": customer_id, "fields": fields})
                          for customer_id, fields in cursor.fetchall())
        if has_subscribers("order.ingested"):
            events.extend(("order.ingested", {"order_id": order_id, "customer_id": customer_id, "outcome": "created"})
                          for order_id, customer_id in created_orders)
            cursor.execute("SELECT id, customer_id FROM cdp_bulk_changed ORDER BY id")
            events.extend(("order.ingested", {"order_id": order_id, "customer_id": customer_id, "outcome": "updated"})
                          for order_id, customer_id in cursor.fetchall())
        publish_on_commit(events)


@contextmanager
def gc_paused():
    """A million small tuples or dicts would set off the cyclic garbage collector hundreds of
    times (seconds of pure overhead); none of them can form a cycle."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
