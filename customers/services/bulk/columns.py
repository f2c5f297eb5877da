"""The bulk loader's vocabulary: the CSV columns it understands, the tables it writes, the person
keys it groups new people by, and what it reports."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from customers.documents import hash_key_count
from customers.models import (
    Address,
    Customer,
    CustomerChangeLog,
    CustomerIdentity,
    Order,
    OrderItem,
    Product,
    SourcePriority,
)

#: The tables the loader writes, named by their models (never spelled out in its SQL).
CUSTOMERS = Customer._meta.db_table
IDENTITIES = CustomerIdentity._meta.db_table
ADDRESSES = Address._meta.db_table
CHANGE_LOGS = CustomerChangeLog._meta.db_table
SOURCE_PRIORITIES = SourcePriority._meta.db_table
ORDERS = Order._meta.db_table
ORDER_ITEMS = OrderItem._meta.db_table
PRODUCTS = Product._meta.db_table

#: A new person's key (``pkey``) is one of these prefixes and the value it is known by. They sort
#: email < identity < document, so a group of rows naming one person takes the email when any
#: row has one (``min(pkey)``).
PERSON_KEY_EMAIL = "1e:"  # + email
PERSON_KEY_IDENTITY = "2x:"  # + source:external id
PERSON_KEY_DOCUMENT = "3d:"  # + document type:number

#: CSV columns the loader understands (canonical names, ``customer_`` and ``customer_address_`` prefixes).
ORDER_COLUMNS = ("source", "external_order_id", "partner", "order_date", "status", "currency", "total_amount",
                 "subtotal", "tax_amount", "shipping_cost", "discount_amount", "payment_method", "order_number",
                 "payment_status", "shipping_method", "utm_source", "utm_medium", "utm_campaign", "items")
CUSTOMER_COLUMNS = ("email", "external_id", "first_name", "last_name", "phone", "document_type", "document_number",
                    "birth_date", "gender", "city", "state", "country")
ADDRESS_COLUMNS = ("line1", "line2", "number", "neighborhood", "city", "state", "postal_code", "country",
                   "recipient_name", "phone", "type")
KNOWN_COLUMNS = frozenset(ORDER_COLUMNS) | {f"customer_{c}" for c in CUSTOMER_COLUMNS} | {
    f"customer_address_{c}" for c in ADDRESS_COLUMNS}
AMOUNT_COLUMNS = ("total_amount", "subtotal", "tax_amount", "shipping_cost", "discount_amount")
REQUIRED_COLUMNS = ("external_order_id", "order_date", "total_amount")
IDENTIFIER_COLUMNS = ("customer_email", "customer_external_id", "customer_document_number")
#: Profile fields the loader applies, with their SQL type.
PROFILE_FIELDS = (("phone", "text"), ("first_name", "text"), ("last_name", "text"), ("birth_date", "date"),
                  ("gender", "text"), ("city", "text"), ("state", "text"), ("country", "text"))
#: Order columns compared on re-import (a difference makes the row ``updated``).
ORDER_VALUE_FIELDS = ("order_date", "status", "currency", "total_amount", "subtotal", "tax_amount",
                      "shipping_cost", "discount_amount", "payment_method", "order_number", "payment_status",
                      "shipping_method", "utm_source", "utm_medium", "utm_campaign")
#: The same columns in the staged rows (``od`` is the parsed order date).
ORDER_ROW_FIELDS = ("od", *ORDER_VALUE_FIELDS[1:])


#: Whether the steps run for a batch of records (``customers.services.bulk.records``) rather than a
#: file: set by ``records_mode``, read by the steps that differ (where scratch tables live, the
#: foreign-key shortcut and the row locks a concurrent batch needs).
_RECORDS_MODE: ContextVar[bool] = ContextVar("cdp_bulk_records_mode", default=False)


@contextmanager
def records_mode() -> Iterator[None]:
    """Run the bulk steps for a batch of records: scratch tables are TEMP tables (each session has
    its own, so concurrent batches of one tenant never see each other's), the per-row foreign-key
    checks stay on, and the customers a batch touches are locked before it writes them."""
    token = _RECORDS_MODE.set(True)
    try:
        yield
    finally:
        _RECORDS_MODE.reset(token)


def in_records_mode() -> bool:
    return _RECORDS_MODE.get()


def scratch() -> str:
    """How ``CREATE ... TABLE`` makes a scratch table: UNLOGGED in the tenant's schema for a file
    (one loader at a time, under the exclusive ingest lock; see ``load._session_prepare``), TEMP for
    a batch of records (many at a time; a few hundred rows stay in the session's temp buffers)."""
    return "TEMP" if _RECORDS_MODE.get() else "UNLOGGED"


DROP_SCRATCH_TABLES = ("DROP TABLE IF EXISTS cdp_bulk_stage, cdp_bulk_rows, cdp_bulk_dups, "
                       "cdp_bulk_owner, cdp_bulk_match, cdp_bulk_people, cdp_bulk_old, cdp_bulk_changed, "
                       "cdp_bulk_priority, cdp_bulk_itemsig, cdp_bulk_docs, cdp_bulk_postal")


def document_match_sql(stored: str, row: str) -> str:
    """SQL: the customer ``stored`` holds the document of the staged row ``row`` (same type, same
    keyed hash). With one credentials key, an equality a hash join can use; while a new key is
    being rotated in, any of the row's hashes (one per key)."""
    if hash_key_count() == 1:
        return f"{stored}.document_type = {row}.doc_type AND {stored}.document_hash = {row}.doc_hash"
    return f"{stored}.document_type = {row}.doc_type AND {stored}.document_hash = ANY({row}.doc_hashes)"


@dataclass
class BulkResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, dict]] = field(default_factory=list)
    customers_created: int = 0

    def as_dict(self) -> dict:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": len(self.rejected), "customers_created": self.customers_created}


def csv_columns(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return [name.strip().lower() for name in next(csv.reader(handle), [])]


#: What a column name may be: letters (accented ones too), digits, spaces, ``_ . -``, at most 63 bytes
#: (PostgreSQL's identifier length, since the bulk path stages each column under its name). Quotes,
#: parentheses and backslashes could only confuse the SQL the bulk path builds around the names.
COLUMN_NAME = re.compile(r"\A[\w .-]+\Z")


INVALID_COLUMNS_MESSAGE = ("Column names may hold letters, digits, spaces, '_', '.' and '-' (at most 63 bytes); "
                          "rename {}.")


def invalid_columns(columns: list[str]) -> list[str]:
    """Header names neither path can take, as ``column N: 'name'`` (empty names are allowed: they
    are kept as ``column_N``)."""
    return [f"column {index}: '{name}'" for index, name in enumerate(columns, start=1)
            if name and (not COLUMN_NAME.match(name) or len(name.encode()) > 63)]


def missing_columns(columns: list[str]) -> list[str]:
    """Required columns absent from a header ("one of" the identifiers counts as one)."""
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if not any(name in columns for name in IDENTIFIER_COLUMNS):
        missing.append(" or ".join(IDENTIFIER_COLUMNS))
    return missing
