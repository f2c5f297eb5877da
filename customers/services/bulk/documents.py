"""The file feed's identity documents and postal codes, checked in Python between its SQL steps.

Check digits are python-stdnum's (customers/documents.py), which SQL cannot run, and a document
must be sealed and hashed with the credentials keys before it is written. So after the staged rows
are normalized (``validation_sql``), each distinct (type, number, country) is read once, checked,
put in compact form, hashed and sealed here, and the results go back in one COPY and one UPDATE.
Invalid ones add their field error to the row (it is then rejected like any invalid row, nothing
of it written). Postal codes are checked the same way, per distinct (code, country).
"""

from __future__ import annotations

from customers.documents import document_check, document_hashes, postal_code_error, seal
from customers.services.bulk.columns import PERSON_KEY_DOCUMENT, scratch
from customers.services.validation import TEXT_LIMITS

DOCUMENT_FIELD = "customer.document_number"
POSTAL_CODE_FIELD = "customer.address.postal_code"
#: The country an address of the file is in (as ``writes.write_addresses`` stores it).
ADDRESS_COUNTRY_SQL = "CASE WHEN addr_country ~ '^[A-Za-z]{2}$' THEN upper(addr_country) ELSE country END"


def document_values(doc_type: str, raw: str, country: str) -> tuple[str | None, str | None, list[str] | None,
                                                                        str | None, str | None]:
    """``(compact, hash, hashes, sealed, error)`` of one document as a file row names it."""
    compact, error = document_check(doc_type, raw, country)
    if error is None and len(compact) > TEXT_LIMITS["document_number"]:
        error = "At most 50 characters."
    if error is not None:
        return None, None, None, None, error
    hashes = document_hashes(compact)  # newest key's first: the one written
    return compact, hashes[0], hashes, seal(compact), None


def rows_documents_check(cursor) -> None:
    """Check, compact, hash and seal the documents of ``cdp_bulk_rows`` (see the module docstring)."""
    cursor.execute("SELECT DISTINCT doc_type, doc_raw, coalesce(country, '') FROM cdp_bulk_rows "
                   "WHERE doc_raw IS NOT NULL AND doc_type <> ''")
    checked = [(doc_type, raw, country, *document_values(doc_type, raw, country))
               for doc_type, raw, country in cursor.fetchall()]
    if not checked:
        return
    cursor.execute(f"CREATE {scratch()} TABLE cdp_bulk_docs (doc_type text, doc_raw text, country text, doc text, "
                   "doc_hash text, doc_hashes text[], doc_enc text, error text)")
    with cursor.cursor.copy("COPY cdp_bulk_docs FROM STDIN") as copy:
        for row in checked:
            copy.write_row(row)
    cursor.execute("""
        UPDATE cdp_bulk_rows v
           SET doc = d.doc, doc_hash = d.doc_hash, doc_hashes = d.doc_hashes, doc_enc = d.doc_enc,
               errors = CASE WHEN d.error IS NULL THEN v.errors
                             ELSE concat_ws(E'\\n', nullif(v.errors, ''), %(field)s || E'\\t' || d.error) END,
               pkey = CASE WHEN left(v.pkey, %(key_length)s) = %(document_key)s
                           THEN %(document_key)s || v.doc_type || ':' || coalesce(d.doc, '') ELSE v.pkey END
          FROM cdp_bulk_docs d
         WHERE d.doc_type = v.doc_type AND d.doc_raw = v.doc_raw AND d.country = coalesce(v.country, '')""",
                   {"field": DOCUMENT_FIELD, "document_key": PERSON_KEY_DOCUMENT,
                    "key_length": len(PERSON_KEY_DOCUMENT)})
    cursor.execute("DROP TABLE cdp_bulk_docs")


def rows_postal_codes_check(cursor) -> None:
    """Refuse the rows of ``cdp_bulk_rows`` whose address postal code is not one of its country's."""
    cursor.execute(f"SELECT DISTINCT addr_postal_code, {ADDRESS_COUNTRY_SQL} FROM cdp_bulk_rows "
                   "WHERE addr_postal_code <> ''")
    invalid = [(code, country, error) for code, country in cursor.fetchall()
               if (error := postal_code_error(code, country or ""))]
    if not invalid:
        return
    cursor.execute(f"CREATE {scratch()} TABLE cdp_bulk_postal (code text, country text, error text)")
    with cursor.cursor.copy("COPY cdp_bulk_postal FROM STDIN") as copy:
        for row in invalid:
            copy.write_row(row)
    cursor.execute(f"""
        UPDATE cdp_bulk_rows v
           SET errors = concat_ws(E'\\n', nullif(v.errors, ''), %(field)s || E'\\t' || p.error)
          FROM cdp_bulk_postal p
         WHERE p.code = v.addr_postal_code AND p.country IS NOT DISTINCT FROM ({ADDRESS_COUNTRY_SQL.replace(
             "addr_country", "v.addr_country").replace("ELSE country", "ELSE v.country")})""",
                   {"field": POSTAL_CODE_FIELD})
    cursor.execute("DROP TABLE cdp_bulk_postal")
