"""Normalization and validation of staged CSV rows in one SQL statement (the rules of
customers.services.normalize and customers.services.validation, restated set-based)."""

from __future__ import annotations

import re

from customers.services.bulk.columns import ADDRESS_COLUMNS, AMOUNT_COLUMNS
from customers.services.normalize import ALPHA3, CALLING_CODES, COUNTRY_NAMES, GENDERS


def values_sql(pairs) -> str:
    rows = ", ".join(f"('{a}', '{b}')" for a, b in pairs)
    return f"(VALUES {rows})"


def stage_sql(default_source: str, default_currency: str) -> str:
    """One statement turning the raw text rows into normalized, validated rows (``errors`` empty
    when valid). Messages match customers.services.validation."""
    country_map = values_sql(list(ALPHA3.items()) + [(k.replace("'", "''"), v) for k, v in COUNTRY_NAMES.items()])
    calling = " ".join(f"WHEN '{country}' THEN '{code}'" for country, code in CALLING_CODES.items())
    genders = " ".join(f"WHEN '{raw}' THEN '{gender}'" for raw, gender in GENDERS.items())
    amount = lambda col: (  # noqa: E731
        f"CASE WHEN nullif(trim(r.{col}), '') IS NULL THEN NULL "
        f"WHEN pg_input_is_valid(trim(r.{col}), 'numeric') AND trim(r.{col})::numeric BETWEEN 0 AND 9999999999999.99 "
        f"AND lower(trim(r.{col})) NOT IN ('nan', 'infinity', '-infinity', '+infinity') "
        f"THEN round(trim(r.{col})::numeric, 2) END")
    amount_error = lambda col, required: (  # noqa: E731
        f"'{col}', CASE WHEN nullif(trim(n.{col}_raw), '') IS NULL THEN "
        + ("jsonb_build_array('This field is required.')" if required else "NULL")
        + f" WHEN NOT pg_input_is_valid(trim(n.{col}_raw), 'numeric') "
        f"OR lower(trim(n.{col}_raw)) IN ('nan', 'infinity', '-infinity', '+infinity') "
        f"THEN jsonb_build_array('Must be a number.') "
        f"WHEN trim(n.{col}_raw)::numeric < 0 THEN jsonb_build_array('Must be zero or more.') "
        f"WHEN trim(n.{col}_raw)::numeric > 9999999999999.99 THEN jsonb_build_array('Too large.') END")
    text = lambda col: (  # noqa: E731
        f"nullif(CASE WHEN r.{col} ~ '\\s\\s|[\\t\\n\\r\\f\\v]' THEN regexp_replace(trim(r.{col}), '\\s+', ' ', 'g') "
        f"ELSE trim(r.{col}) END, '')")
    return errors_as_text(f"""
    CREATE TEMP TABLE cdp_bulk_rows ON COMMIT DROP AS
    WITH base AS (
      SELECT r.row_no,
             coalesce(nullif(lower(trim(r.source)), ''), '{default_source}') AS src,
             nullif(trim(r.external_order_id), '') AS ext,
             CASE WHEN pg_input_is_valid(trim(r.order_date), 'timestamptz') THEN trim(r.order_date)::timestamptz END
               AS od,
             coalesce(nullif(lower(trim(r.status)), ''), 'completed') AS status,
             coalesce(nullif(upper(trim(r.currency)), ''), '{default_currency}') AS currency,
             {amount('total_amount')} AS total_amount, {amount('subtotal')} AS subtotal,
             {amount('tax_amount')} AS tax_amount, {amount('shipping_cost')} AS shipping_cost,
             {amount('discount_amount')} AS discount_amount,
             {", ".join(f"r.{c} AS {c}_raw" for c in AMOUNT_COLUMNS)},
             coalesce({text('payment_method')}, '') AS payment_method,
             nullif(lower(regexp_replace(coalesce(r.customer_email, ''), '\\s', '', 'g')), '') AS email,
             {text('customer_external_id')} AS cext,
             lower(coalesce({text('customer_document_type')}, '')) AS doc_type,
             CASE WHEN lower(trim(r.customer_document_type)) IN ('passport', 'pasaporte')
                  THEN nullif(upper(regexp_replace(coalesce(r.customer_document_number, ''), '[^0-9A-Za-z]', '', 'g')), '')
                  ELSE nullif(regexp_replace(coalesce(r.customer_document_number, ''), '\\D', '', 'g'), '') END AS doc,
             nullif(trim(r.customer_document_number), '') AS doc_raw,
             {text('customer_first_name')} AS first_name, {text('customer_last_name')} AS last_name,
             {text('customer_city')} AS city, {text('customer_state')} AS state,
             CASE WHEN nullif(trim(r.customer_birth_date), '') IS NULL THEN NULL
                  WHEN pg_input_is_valid(left(trim(r.customer_birth_date), 10), 'date')
                  THEN left(trim(r.customer_birth_date), 10)::date END AS birth_date,
             nullif(trim(r.customer_birth_date), '') AS birth_raw,
             CASE lower(trim(r.customer_gender)) {genders} END AS gender,
             CASE WHEN nullif(trim(r.customer_country), '') IS NULL THEN ''
                  WHEN trim(r.customer_country) ~ '^[A-Za-z]{{2}}$' THEN upper(trim(r.customer_country))
                  ELSE (SELECT cm.code FROM {country_map} AS cm(name, code)
                         WHERE cm.name IN (upper(trim(r.customer_country)), lower(trim(r.customer_country)))) END
               AS country,
             r.customer_phone AS phone_raw,
             CASE WHEN nullif(trim(r.items), '') IS NULL THEN NULL
                  WHEN pg_input_is_valid(r.items, 'jsonb') THEN r.items::jsonb END AS items,
             nullif(trim(r.items), '') AS items_raw,
             {", ".join(f"coalesce({text('customer_address_' + c)}, '') AS addr_{c}" for c in ADDRESS_COLUMNS)},
             nullif(trim(r.order_date), '') AS od_raw
        FROM cdp_bulk_stage r

    ), phoned AS (
      SELECT b.*, regexp_replace(coalesce(b.phone_raw, ''), '\\D', '', 'g') AS phone_digits,
             CASE b.country {calling} END AS calling
        FROM base b
    ), normal AS (
      SELECT p.*,
             CASE WHEN p.phone_digits = '' THEN NULL
                  WHEN p.cand IS NOT NULL AND length(p.cand) BETWEEN 8 AND 15 THEN '+' || p.cand
                  ELSE left(p.phone_digits, 20) END AS phone
        FROM (SELECT ph.*,
                     CASE WHEN ltrim(ph.phone_raw) LIKE '+%' THEN ph.phone_digits
                          WHEN ltrim(ph.phone_raw) LIKE '00%' THEN substr(ph.phone_digits, 3)
                          WHEN ph.calling IS NOT NULL THEN
                            CASE WHEN ltrim(ph.phone_digits, '0') LIKE ph.calling || '%'
                                      AND length(ltrim(ph.phone_digits, '0')) >= 11
                                 THEN ltrim(ph.phone_digits, '0')
                                 ELSE ph.calling || ltrim(ph.phone_digits, '0') END
                     END AS cand
                FROM phoned ph) p
    )
    SELECT n.*,
           CASE WHEN n.email IS NOT NULL THEN '1e:' || n.email
                WHEN n.cext IS NOT NULL THEN '2x:' || n.src || ':' || n.cext
                ELSE '3d:' || n.doc_type || ':' || coalesce(n.doc, '') END AS pkey,
           row_number() OVER (PARTITION BY n.src, n.ext ORDER BY n.row_no) AS dup_rank,
           min(n.row_no) OVER (PARTITION BY n.src, n.ext) AS first_row,
           concat_ws(E'\\n',
             'source', CASE WHEN n.src !~ '^[a-z0-9][a-z0-9_.-]{{0,49}}$'
                            THEN jsonb_build_array('Use up to 50 lowercase letters, digits, ''.'', ''_'' or ''-''.') END,
             'external_order_id', CASE WHEN n.ext IS NULL THEN jsonb_build_array('This field is required.')
                                       WHEN length(n.ext) > 255 THEN jsonb_build_array('At most 255 characters.') END,
             'order_date', CASE WHEN n.od_raw IS NULL
                                  THEN jsonb_build_array('This field is required.')
                                WHEN n.od IS NULL THEN jsonb_build_array(
                                  'Use an ISO 8601 date or date-time, e.g. 2024-05-31T14:20:00-03:00.')
                                WHEN n.od < '1970-01-01'::timestamptz OR n.od > now() + interval '2 days'
                                  THEN jsonb_build_array('Out of range (before 1970 or in the future).') END,
             'status', CASE WHEN n.status NOT IN ('pending', 'paid', 'invoiced', 'completed', 'cancelled', 'refunded')
                            THEN jsonb_build_array('Choose one of: pending, paid, invoiced, completed, cancelled, refunded.') END,
             'currency', CASE WHEN n.currency !~ '^[A-Z]{{3}}$'
                              THEN jsonb_build_array('Use an ISO 4217 code such as ARS, BRL or USD.') END,
             {amount_error('total_amount', True)}, {amount_error('subtotal', False)},
             {amount_error('tax_amount', False)}, {amount_error('shipping_cost', False)},
             {amount_error('discount_amount', False)},
             'payment_method', CASE WHEN length(n.payment_method) > 100
                                    THEN jsonb_build_array('At most 100 characters.') END,
             'customer.email', CASE WHEN n.email IS NOT NULL AND (n.email !~ '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$'
                                    OR length(n.email) > 254) THEN jsonb_build_array('Enter a valid email address.') END,
             'customer.external_id', CASE WHEN length(n.cext) > 255 THEN jsonb_build_array('At most 255 characters.') END,
             'customer.country', CASE WHEN n.country IS NULL
                                      THEN jsonb_build_array('Use an ISO 3166 country code such as AR, BR or MX.') END,
             'customer.document_type', CASE WHEN n.doc_raw IS NOT NULL AND n.doc_type = ''
                                              THEN jsonb_build_array('Required with a document number.')
                                            WHEN length(n.doc_type) > 20 THEN jsonb_build_array('At most 20 characters.') END,
             'customer.document_number', CASE WHEN n.doc_raw IS NOT NULL AND n.doc IS NULL
                                                THEN jsonb_build_array('Must contain digits.')
                                              WHEN length(n.doc) > 50 THEN jsonb_build_array('At most 50 characters.') END,
             'customer.birth_date', CASE WHEN n.birth_raw IS NOT NULL AND n.birth_date IS NULL
                                           THEN jsonb_build_array('Use an ISO 8601 date (YYYY-MM-DD).')
                                         WHEN n.birth_date < '1900-01-01' OR n.birth_date > current_date
                                           THEN jsonb_build_array('Out of range.') END,
             'customer.first_name', CASE WHEN length(n.first_name) > 150 THEN jsonb_build_array('At most 150 characters.') END,
             'customer.last_name', CASE WHEN length(n.last_name) > 150 THEN jsonb_build_array('At most 150 characters.') END,
             'customer.city', CASE WHEN length(n.city) > 150 THEN jsonb_build_array('At most 150 characters.') END,
             'customer.state', CASE WHEN length(n.state) > 150 THEN jsonb_build_array('At most 150 characters.') END,
             'customer', CASE WHEN n.cext IS NULL AND n.email IS NULL AND n.doc IS NULL AND n.doc_raw IS NULL
                              THEN jsonb_build_array('Give at least one identifier: email, external_id or document_number.') END,
             'customer.address.line1', CASE WHEN n.addr_line1 = '' AND (n.addr_city <> '' OR n.addr_postal_code <> ''
                                              OR n.addr_line2 <> '' OR n.addr_number <> '')
                                            THEN jsonb_build_array('This field is required.') END,
             'customer.address.type', CASE WHEN lower(n.addr_type) NOT IN ('', 'shipping', 'billing')
                                           THEN jsonb_build_array('Use shipping or billing.') END,
             'items', CASE WHEN n.items_raw IS NOT NULL AND n.items IS NULL THEN jsonb_build_array('Not valid JSON.')
                           WHEN n.items IS NOT NULL AND jsonb_typeof(n.items) <> 'array'
                             THEN jsonb_build_array('Must be a list.')
                           WHEN n.items IS NOT NULL AND EXISTS (
                             SELECT 1 FROM jsonb_array_elements(n.items) AS e(item)
                              WHERE jsonb_typeof(e.item) <> 'object'
                                 OR coalesce(nullif(trim(e.item->>'sku'), ''), nullif(trim(e.item->>'name'), '')) IS NULL
                                 OR NOT pg_input_is_valid(coalesce(e.item->>'quantity', '1'), 'numeric')
                                 OR coalesce(e.item->>'quantity', '1')::numeric <= 0
                                 OR NOT pg_input_is_valid(coalesce(e.item->>'unit_price', '0'), 'numeric')
                                 OR coalesce(e.item->>'unit_price', '0')::numeric < 0)
                             THEN jsonb_build_array('Each item needs a sku or a name, a quantity above zero and a unit_price of zero or more.') END
           ) AS errors
      FROM normal n
    """)


def errors_as_text(sql: str) -> str:
    """Rewrite the ``'field', CASE ... jsonb_build_array('message') ... END`` entries of the errors
    list into ``CASE ... 'field<TAB>message' ... END`` for ``concat_ws``: building a jsonb object
    per row costs more than the whole validation; only rejected rows are decoded (in Python)."""
    head, _, tail = sql.partition("concat_ws(E'\\n',")
    out, position, current = [], 0, None
    for match in re.finditer(r"'([a-z0-9_.]+)', CASE|jsonb_build_array\(\s*'((?:[^']|'')*)'\s*\)", tail):
        out.append(tail[position:match.start()])
        if match.group(1):
            current = match.group(1)
            out.append("CASE")
        else:
            out.append(f"'{current}\t{match.group(2)}'")
        position = match.end()
    out.append(tail[position:])
    return head + "concat_ws(E'\\n'," + "".join(out)


def errors_decode(text: str) -> dict:
    errors: dict[str, list[str]] = {}
    for line in text.splitlines():
        field, _, message = line.partition("\t")
        errors.setdefault(field, []).append(message.replace("''", "'"))
    return errors
