"""Gapless numbers: a counter row per series, locked FOR UPDATE in the caller's transaction."""

from __future__ import annotations

import datetime

from django.db import connection, transaction

from billing.models import DocumentCounter


def number_next(*, series: str) -> int:
    """The next number of ``series``. Must run inside the transaction that writes the document:
    the row lock serializes writers, and a rollback returns the number (no gap, no duplicate)."""
    if not connection.in_atomic_block:
        raise RuntimeError("number_next must run inside the document's transaction")
    # Create the row if missing without racing (two first writers would otherwise both insert).
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {DocumentCounter._meta.db_table} (series, last_number) VALUES (%s, 0) "
            "ON CONFLICT (series) DO NOTHING", [series])
    counter = DocumentCounter.objects.select_for_update().get(series=series)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def order_number_next(*, now: datetime.datetime) -> str:
    """``ORD-YYYYMMDD-XXXX``: a per-day sequence (more digits once a day passes 9999 orders)."""
    day = now.astimezone(datetime.UTC).strftime("%Y%m%d")
    with transaction.atomic():
        return f"ORD-{day}-{number_next(series=f'ORD-{day}'):04d}"


def document_number(*, series: str, sequence: int) -> str:
    return f"{series}-{sequence:06d}"
