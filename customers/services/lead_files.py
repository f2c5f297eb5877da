"""Reading lead and subscriber files: CSV rows and JSON Lines as customer records, for the bulk
endpoint (``POST /api/v1/customers/bulk/``) and the ``import_customers`` command. Pure: no I/O but
the text or the open file given, no database."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import TextIO

#: CSV columns named ``address_<part>`` fill the record's address, ``attribute_<key>`` its custom
#: attributes; the others are the record's own fields (``email``, ``kind``, ``source``...).
ADDRESS_PREFIX = "address_"
ATTRIBUTE_PREFIX = "attribute_"



def csv_row_record(row: dict) -> dict:
    """A flat CSV row as a customer record (empty cells are absent values)."""
    record: dict = {}
    address: dict = {}
    attributes: dict = {}
    for key, value in row.items():
        if key is None or value in ("", None):
            continue
        key = key.strip().lower()
        if key.startswith(ADDRESS_PREFIX):
            address[key[len(ADDRESS_PREFIX):]] = value
        elif key.startswith(ATTRIBUTE_PREFIX):
            attributes[key[len(ATTRIBUTE_PREFIX):]] = value
        else:
            record[key] = value
    if address:
        record["address"] = address
    if attributes:
        record["attributes"] = attributes
    return record


def csv_records(source: str | TextIO) -> Iterator[dict]:
    """The records of a CSV (a text, or a file opened with ``newline=""``), one per row."""
    lines = io.StringIO(source.lstrip("\ufeff")) if isinstance(source, str) else source
    for row in csv.DictReader(lines):
        yield csv_row_record(row)


def jsonl_records(source: str | TextIO) -> Iterator[object]:
    """One record per non-blank line; a line that is not JSON yields a string the service rejects."""
    for line in (source.splitlines() if isinstance(source, str) else source):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except ValueError:
            yield "(not valid JSON)"
