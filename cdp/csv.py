"""The one way the product writes CSV: UTF-8 with a byte-order mark, and cells that a
spreadsheet would run as a formula neutralised.

- The BOM makes Excel read the file as UTF-8 ("Díaz", not "DÃ­az"); every other reader either
  expects it or skips it (Python's ``utf-8-sig``, pandas, LibreOffice).
- A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is what
  spreadsheets evaluate (``=HYPERLINK(...)``, ``+cmd|' /C calc'!A0``): such a cell gets a leading
  ``'``, which shows the text as typed (OWASP "CSV injection"). Plain numbers (``-12.50``,
  ``+5491155551234``) are left alone: they cannot call anything, and mangling them would break
  the amounts and phone numbers people open these files for.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from typing import IO, Any

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def safe_cell(value: Any) -> Any:
    """``value`` as a spreadsheet may open it: formula-looking text gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in row]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """Encoded-ready CSV text, one line per row, BOM first: for a streamed HTTP response."""
    writer = csv.writer(_Echo())
    yield BOM
    for row in rows:
        yield writer.writerow(safe_row(row))


class CsvFileWriter:
    """A ``csv.DictWriter`` for a file opened with :func:`open_csv`, neutralising every cell."""

    def __init__(self, handle: IO[str], fieldnames: list[str], **kwargs):
        self._writer = csv.DictWriter(handle, fieldnames=fieldnames, **kwargs)

    def writeheader(self) -> None:
        # Header names can come from an uploaded file too.
        self._writer.writer.writerow(safe_row(self._writer.fieldnames))

    def writerow(self, row: dict) -> None:
        self._writer.writerow({key: safe_cell(value) for key, value in row.items()})


def open_csv(path, mode: str = "w") -> IO[str]:
    """A text file for CSV output: UTF-8 with a BOM (``utf-8-sig`` writes it), universal newlines off."""
    return open(path, mode, newline="", encoding="utf-8-sig")
