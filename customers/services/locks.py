"""The tenant's ingest lock (a transaction-level advisory lock): record batches hold it shared, so
they run side by side; the bulk loader and a change of the counted-sale rule hold it exclusively,
so neither races a batch (nor mixes two rules in one batch)."""

from __future__ import annotations

from django.db import connection


def ingest_lock_key() -> str:
    """Per-tenant key of the lock."""
    return f"customers.ingest:{connection.schema_name}"


def ingest_lock_shared(cursor) -> None:
    """Until the transaction ends: no bulk load and no rule change while this batch runs."""
    cursor.execute("SELECT pg_advisory_xact_lock_shared(hashtext(%s))", [ingest_lock_key()])


def ingest_lock_exclusive(cursor) -> None:
    """Until the transaction ends: nobody else ingests in this tenant."""
    cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [ingest_lock_key()])
