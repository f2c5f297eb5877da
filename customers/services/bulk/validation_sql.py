"""Normalization and validation of staged CSV rows in one SQL statement (the rules of
customers.services.normalize and customers.services.validation, restated set-based)."""

from __future__ import annotations

import json
import re

from customers.models import Address, Order
from customers.services.bulk.columns import (
    ADDRESS_COLUMNS,
    AMOUNT_COLUMNS,
    PERSON_KEY_DOCUMENT,
    PERSON_KEY_EMAIL,
    PERSON_KEY_IDENTITY,
    scratch,
)
from customers.documents import ALPHANUMERIC_DOCUMENTS
from customers.services.normalize import (
    ALPHA3,
    CALLING_CODES,
    COUNTRY_NAMES,
    GENDER_MESSAGE,
    GENDERS,
    PHONE_DIGITS,
    PHONE_MESSAGE,
)
from customers.services.validation import ADDRESS_LIMITS, ORDER_TEXT_FIELDS

#: Normalized columns the later steps use (the raw texts kept for error messages stay behind).
KEPT_COLUMNS = ("row_no", "src", "ext", "partner", "od", "status", "currency", *AMOUNT_COLUMNS, "payment_method",
                *ORDER_TEXT_FIELDS, "email", "cext",
                "doc_type", "doc", "doc_raw", "doc_hash", "doc_hashes", "doc_enc",
                "first_name", "last_name", "city", "state", "birth_date", "gender", "country",
                "items", *(f"addr_{name}" for name in ADDRESS_COLUMNS), "raw")


def stage_sql(default_source: str, default_currency: str, columns: list[str]) -> list[tuple[str, dict]]:
    """The statements (with their parameters) turning the raw text rows of ``cdp_bulk_stage``
    (whose columns, besides ``row_no``, are the file's: ``columns``) into ``cdp_bulk_rows``:
    normalized, validated (``errors`` empty when valid) and with the source row as JSON (``raw``).
    Messages match customers.services.validation; the domain's values (statuses, documents that
    keep letters, address types, person keys) are parameters.

    One pass over the file: the inner ``normalize`` query computes each value once. Its volatile
    ``clock_timestamp()`` column keeps PostgreSQL from inlining it into the outer query, which
    would repeat the expressions at every use (the order date, an amount or the country are used
    several times by the checks). ``OFFSET 0`` would do that too, but it also keeps the outer
    checks out of the parallel workers: they would all run in the one process writing the rows."""
    params = {
        "default_source": default_source, "default_currency": default_currency,
        "default_status": Order.Status.COMPLETED.value, "statuses": list(Order.Status.values),
        "payment_statuses": list(Order.PaymentStatus.values), "address_types": ["", *Address.Type.values],
        "alphanumeric_documents": sorted(ALPHANUMERIC_DOCUMENTS), "email_key": PERSON_KEY_EMAIL,
        "identity_key": PERSON_KEY_IDENTITY, "document_key": PERSON_KEY_DOCUMENT,
    }
    validate = errors_as_text(_validate_sql(columns, _normalize_sql(columns)))
    # Rows repeating an order (source, external id, partner) of an earlier row of the file.
    duplicates = f"""
    CREATE {scratch()} TABLE cdp_bulk_dups AS
    SELECT src, ext, partner, min(row_no) AS first_row FROM cdp_bulk_rows GROUP BY src, ext, partner
    HAVING count(*) > 1"""
    # TRUNCATE, not DROP: the stage was created in this transaction, so its buffers are freed at
    # once instead of at commit (a dropped table's pages would be written out meanwhile).
    return [(validate, params), ("TRUNCATE cdp_bulk_stage", {}), (duplicates, {})]


# SQL pieces of the statement (their text goes through the client-side parameter binding of
# ``stage_sql``, so a literal percent sign is written %%).

def _column(columns: list[str], name: str) -> str:
    """The staged column ``name`` (NULL where the file has none)."""
    return f"r.{name}" if name in columns else "NULL::text"


def _text_sql(columns: list[str], name: str) -> str:
    """The column's text trimmed, inner runs of white space made one space; NULL when empty."""
    value = _column(columns, name)
    return (f"nullif(CASE WHEN {value} ~ '\\s\\s|[\\t\\n\\r\\f\\v]' "
            f"THEN regexp_replace(trim({value}), '\\s+', ' ', 'g') ELSE trim({value}) END, '')")


def _amount_sql(columns: list[str], name: str) -> str:
    """The column as an amount (two decimals) when it reads as one in range; else NULL. NaN and the
    infinities are valid numerics but fall outside the range, so they are NULL here."""
    value = _column(columns, name)
    return (f"CASE WHEN pg_input_is_valid({value}, 'numeric') "
            f"AND {value}::numeric BETWEEN 0 AND 9999999999999.99 THEN round({value}::numeric, 2) END")


def _amount_error_sql(name: str, *, required: bool) -> str:
    """The errors entry of an amount column (why its normalized value is NULL)."""
    return (f"'{name}', CASE WHEN n.{name} IS NOT NULL THEN NULL WHEN nullif(trim(n.{name}_raw), '') IS NULL THEN "
            + ("jsonb_build_array('This field is required.')" if required else "NULL")
            + f" WHEN NOT pg_input_is_valid(trim(n.{name}_raw), 'numeric') "
            f"OR lower(trim(n.{name}_raw)) IN ('nan', 'infinity', '-infinity', '+infinity') "
            f"THEN jsonb_build_array('Must be a number.') "
            f"WHEN trim(n.{name}_raw)::numeric < 0 THEN jsonb_build_array('Must be zero or more.') "
            f"ELSE jsonb_build_array('Too large.') END")


def _phone_invalid_sql(raw: str) -> str:
    """SQL: ``raw`` is a non-empty text that ``normalize.phone_error`` refuses."""
    text = f"regexp_replace(trim({raw}), '\\s+', ' ', 'g')"
    digits = f"translate({text}, translate({text}, '0123456789', ''), '')"
    return (f"(nullif(trim({raw}), '') IS NOT NULL AND ({text} !~ '^\\+?[0-9 ().\\-/]+$' OR length("
            f"CASE WHEN {text} LIKE '00%%' THEN substr({digits}, 3) ELSE {digits} END) NOT BETWEEN "
            f"{PHONE_DIGITS[0]} AND {PHONE_DIGITS[1]}))")


def _normalize_sql(columns: list[str]) -> str:
    """The inner query: each staged row's values normalized (and the raw texts the messages need)."""
    def col(name):
        return _column(columns, name)

    def text(name):
        return _text_sql(columns, name)

    countries = " ".join(f"WHEN '{name.lower()}' THEN '{code}'" for name, code in
                         [*ALPHA3.items(), *((k.replace("'", "''"), v) for k, v in COUNTRY_NAMES.items())])
    genders = " ".join(f"WHEN '{raw}' THEN '{gender}'" for raw, gender in GENDERS.items())
    phone = col("customer_phone")
    detail_values = ", ".join(f"lower(coalesce({text(name)}, '')) AS {name}" if name == "payment_status"
                              else f"coalesce({text(name)}, '') AS {name}" for name in ORDER_TEXT_FIELDS)
    # The source row as JSON, from two text arrays: half the cost of to_jsonb(row).
    keys = ", ".join("'" + name.replace("'", "''") + "'" for name in columns)
    values = ", ".join('r."' + name.replace('"', '""') + '"' for name in columns)
    return f"""
    SELECT clock_timestamp() AS not_inlined, r.row_no,
           coalesce(nullif(lower(trim({col("source")})), ''), %(default_source)s) AS src,
           nullif(trim({col("external_order_id")}), '') AS ext,
           coalesce(lower(trim({col("partner")})), '') AS partner,
           CASE WHEN pg_input_is_valid(trim({col("order_date")}), 'timestamptz')
                THEN trim({col("order_date")})::timestamptz END AS od,
           nullif(trim({col("order_date")}), '') AS od_raw,
           coalesce(nullif(lower(trim({col("status")})), ''), %(default_status)s) AS status,
           coalesce(nullif(upper(trim({col("currency")})), ''), %(default_currency)s) AS currency,
           {", ".join(f"{_amount_sql(columns, c)} AS {c}, {col(c)} AS {c}_raw" for c in AMOUNT_COLUMNS)},
           coalesce({text("payment_method")}, '') AS payment_method,
           {detail_values},
           nullif(lower(CASE WHEN {col("customer_email")} ~ '\\s'
                             THEN regexp_replace({col("customer_email")}, '\\s', '', 'g')
                             ELSE {col("customer_email")} END), '') AS email,
           {text("customer_external_id")} AS cext,
           lower(coalesce({text("customer_document_type")}, '')) AS doc_type,
           CASE WHEN lower(trim({col("customer_document_type")})) = ANY(%(alphanumeric_documents)s)
                THEN nullif(upper(regexp_replace(coalesce({col("customer_document_number")}, ''),
                                                 '[^0-9A-Za-z]', '', 'g')), '')
                ELSE nullif(translate({col("customer_document_number")},
                                      translate({col("customer_document_number")}, '0123456789', ''), ''), '')
           END AS doc,
           nullif(trim({col("customer_document_number")}), '') AS doc_raw,
           -- checked, compacted, hashed and sealed in Python next (customers.services.bulk.documents)
           NULL::text AS doc_hash, NULL::text[] AS doc_hashes, NULL::text AS doc_enc,
           {text("customer_first_name")} AS first_name, {text("customer_last_name")} AS last_name,
           {text("customer_city")} AS city, {text("customer_state")} AS state,
           CASE WHEN pg_input_is_valid(left(trim({col("customer_birth_date")}), 10), 'date')
                THEN left(trim({col("customer_birth_date")}), 10)::date END AS birth_date,
           nullif(trim({col("customer_birth_date")}), '') AS birth_raw,
           CASE lower(trim({col("customer_gender")})) {genders} END AS gender,
           nullif(trim({col("customer_gender")}), '') AS gender_raw,
           CASE WHEN nullif(trim({col("customer_country")}), '') IS NULL THEN ''
                WHEN trim({col("customer_country")}) ~ '^[A-Za-z]{{2}}$' THEN upper(trim({col("customer_country")}))
                ELSE CASE lower(trim({col("customer_country")})) {countries} END END AS country,
           {phone} AS phone_raw,
           coalesce(translate({phone}, translate({phone}, '0123456789', ''), ''), '') AS phone_digits,
           CASE WHEN pg_input_is_valid({col("items")}, 'jsonb') THEN {col("items")}::jsonb END AS items,
           nullif(trim({col("items")}), '') AS items_raw,
           {", ".join(f"coalesce({text('customer_address_' + c)}, '') AS addr_{c}" for c in ADDRESS_COLUMNS)},
           -- without the document: it is kept sealed on the customer only
           jsonb_strip_nulls(jsonb_object(ARRAY[{keys}], ARRAY[{values}])) - 'customer_document_number' AS raw
      FROM cdp_bulk_stage r"""


def _validate_sql(columns: list[str], normalize: str) -> str:
    """``cdp_bulk_rows`` from the ``normalize`` query: the kept values, the phone in E.164 where
    its country's calling code says how, the person key and the errors (``'field', CASE ...``
    entries, rewritten by ``errors_as_text``), each group of checks a named step below, in the
    order their messages are listed."""
    errors = ",\n             ".join(step() for step in (
        _order_errors_sql, _customer_errors_sql, _address_errors_sql, _name_and_identifier_errors_sql,
        _address_shape_errors_sql, _items_errors_sql))
    return f"""
    CREATE {scratch()} TABLE cdp_bulk_rows AS
    SELECT {", ".join(f"n.{name}" for name in KEPT_COLUMNS)},
           {_phone_and_person_key_sql()},
           concat_ws(E'\\n',
             {errors}
           ) AS errors
      FROM {_phone_candidate_sql(normalize)} n"""


def _phone_and_person_key_sql() -> str:
    """The ``phone`` column (E.164 from the candidate, else the digits) and ``pkey``, the person key
    rows of one person share (e-mail, else the source's customer id, else the document)."""
    return """CASE WHEN n.phone_digits = '' THEN NULL
                WHEN n.cand IS NOT NULL AND length(n.cand) BETWEEN 8 AND 15 THEN '+' || n.cand
                ELSE left(n.phone_digits, 20) END AS phone,
           CASE WHEN n.email IS NOT NULL THEN %(email_key)s || n.email
                WHEN n.cext IS NOT NULL THEN %(identity_key)s || n.src || ':' || n.cext
                ELSE %(document_key)s || n.doc_type || ':' || coalesce(n.doc, '') END AS pkey"""


def _phone_candidate_sql(normalize: str) -> str:
    """The normalized rows with ``cand``: the phone's digits with its country calling code."""
    # A constant jsonb object is a binary search per row; a CASE of its entries, one test per entry.
    calling = json.dumps(CALLING_CODES).replace("'", "''")
    return f"""(SELECT m.*,
                   CASE WHEN ltrim(m.phone_raw) LIKE '+%%' THEN m.phone_digits
                        WHEN ltrim(m.phone_raw) LIKE '00%%' THEN substr(m.phone_digits, 3)
                        WHEN m.calling IS NOT NULL THEN
                          CASE WHEN ltrim(m.phone_digits, '0') LIKE m.calling || '%%'
                                    AND length(ltrim(m.phone_digits, '0')) >= 11
                               THEN ltrim(m.phone_digits, '0')
                               ELSE m.calling || ltrim(m.phone_digits, '0') END
                   END AS cand
              FROM (SELECT c.*, '{calling}'::jsonb ->> c.country AS calling
                      FROM ({normalize}) c) m)"""


def _order_errors_sql() -> str:
    """The order's fields: source, external id, date, status, currency, amounts, details."""
    status_names = ", ".join(Order.Status.values)
    payment_names = ", ".join(value for value in Order.PaymentStatus.values if value)
    # Order number, payment status, shipping method and UTM: lengths, and the payment status's values.
    detail_errors = ", ".join(
        f"'{name}', CASE WHEN length(n.{name}) > {limit} THEN jsonb_build_array('At most {limit} characters.')"
        + (f" WHEN n.{name} <> ALL (%(payment_statuses)s) THEN jsonb_build_array('Choose one of: {payment_names}.')"
           if name == "payment_status" else "") + " END"
        for name, limit in ORDER_TEXT_FIELDS.items())
    return f"""'source', CASE WHEN length(n.src) > 50 OR n.src !~ '^[a-z0-9][a-z0-9_.-]*$'
                            THEN jsonb_build_array('Use up to 50 lowercase letters, digits, ''.'', ''_'' or ''-''.') END,
             'external_order_id', CASE WHEN n.ext IS NULL THEN jsonb_build_array('This field is required.')
                                       WHEN length(n.ext) > 255 THEN jsonb_build_array('At most 255 characters.') END,
             'partner', CASE WHEN n.partner <> '' AND n.partner !~ '^[a-z0-9][a-z0-9_-]{{0,63}}$'
                             THEN jsonb_build_array('A partner''s slug: up to 64 lowercase letters, digits, ''_'' or ''-''.') END,
             'order_date', CASE WHEN n.od_raw IS NULL
                                  THEN jsonb_build_array('This field is required.')
                                WHEN n.od IS NULL THEN jsonb_build_array(
                                  'Use an ISO 8601 date or date-time, e.g. 2024-05-31T14:20:00-03:00.')
                                WHEN n.od < '1970-01-01'::timestamptz OR n.od > now() + interval '2 days'
                                  THEN jsonb_build_array('Out of range (before 1970 or in the future).') END,
             'status', CASE WHEN n.status <> ALL (%(statuses)s)
                            THEN jsonb_build_array('Choose one of: {status_names}.') END,
             'currency', CASE WHEN n.currency !~ '^[A-Z]{{3}}$'
                              THEN jsonb_build_array('Use an ISO 4217 code such as ARS, BRL or USD.') END,
             {", ".join(_amount_error_sql(name, required=name == "total_amount") for name in AMOUNT_COLUMNS)},
             'payment_method', CASE WHEN length(n.payment_method) > 100
                                    THEN jsonb_build_array('At most 100 characters.') END,
             {detail_errors}"""


def _customer_errors_sql() -> str:
    """The customer's identifying and profile values."""
    return f"""'customer.email', CASE WHEN n.email IS NOT NULL AND (n.email !~ '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$'
                                    OR length(n.email) > 254) THEN jsonb_build_array('Enter a valid email address.') END,
             'customer.external_id', CASE WHEN length(n.cext) > 255 THEN jsonb_build_array('At most 255 characters.') END,
             'customer.country', CASE WHEN n.country IS NULL
                                      THEN jsonb_build_array('Use an ISO 3166 country code such as AR, BR or MX.') END,
             'customer.document_type', CASE WHEN n.doc_raw IS NOT NULL AND n.doc_type = ''
                                              THEN jsonb_build_array('Required with a document number.')
                                            WHEN length(n.doc_type) > 20 THEN jsonb_build_array('At most 20 characters.') END,
             'customer.birth_date', CASE WHEN n.birth_raw IS NOT NULL AND n.birth_date IS NULL
                                           THEN jsonb_build_array('Use an ISO 8601 date (YYYY-MM-DD).')
                                         WHEN n.birth_date < '1900-01-01' OR n.birth_date > current_date
                                           THEN jsonb_build_array('Out of range.') END,
             'customer.phone', CASE WHEN {_phone_invalid_sql("n.phone_raw")} THEN jsonb_build_array('{PHONE_MESSAGE}') END,
             'customer.gender', CASE WHEN n.gender_raw IS NOT NULL AND n.gender IS NULL
                                     THEN jsonb_build_array('{GENDER_MESSAGE}') END"""


def _address_errors_sql() -> str:
    """The address fields' lengths and its phone."""
    return f"""{", ".join(f"'customer.address.{name}', CASE WHEN length(n.addr_{name}) > {limit} "
                        f"THEN jsonb_build_array('At most {limit} characters.') END"
                        for name, limit in ADDRESS_LIMITS.items() if name in ADDRESS_COLUMNS)},
             'customer.address.phone', CASE WHEN {_phone_invalid_sql("n.addr_phone")}
                                            THEN jsonb_build_array('{PHONE_MESSAGE}') END"""


def _name_and_identifier_errors_sql() -> str:
    """Names and places' lengths, and at least one identifier of the person."""
    return """'customer.first_name', CASE WHEN length(n.first_name) > 150 THEN jsonb_build_array('At most 150 characters.') END,
             'customer.last_name', CASE WHEN length(n.last_name) > 150 THEN jsonb_build_array('At most 150 characters.') END,
             'customer.city', CASE WHEN length(n.city) > 150 THEN jsonb_build_array('At most 150 characters.') END,
             'customer.state', CASE WHEN length(n.state) > 150 THEN jsonb_build_array('At most 150 characters.') END,
             'customer', CASE WHEN n.cext IS NULL AND n.email IS NULL AND n.doc IS NULL AND n.doc_raw IS NULL
                              THEN jsonb_build_array('Give at least one identifier: email, external_id or document_number.') END"""


def _address_shape_errors_sql() -> str:
    """An address needs its first line when it has anything else, and a known type."""
    return """'customer.address.line1', CASE WHEN n.addr_line1 = '' AND (n.addr_city <> '' OR n.addr_postal_code <> ''
                                              OR n.addr_line2 <> '' OR n.addr_number <> '')
                                            THEN jsonb_build_array('This field is required.') END,
             'customer.address.type', CASE WHEN lower(n.addr_type) <> ALL (%(address_types)s)
                                           THEN jsonb_build_array('Use shipping or billing.') END"""


def _items_errors_sql() -> str:
    """The items: valid JSON, a list, each with a sku or a name, a quantity and a price."""
    return """'items', CASE WHEN n.items_raw IS NOT NULL AND n.items IS NULL THEN jsonb_build_array('Not valid JSON.')
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
                             THEN jsonb_build_array('Each item needs a sku or a name, a quantity above zero and a unit_price of zero or more.') END"""



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
