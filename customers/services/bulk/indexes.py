"""Secondary indexes built once after a big load instead of maintained row by row."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

#: Loads smaller than this keep every index: the saving would not pay for the DDL.
DEFER_MIN_ROWS = 20_000


@contextmanager
def indexes_deferred(cursor, table: str, adding: int) -> Iterator[bool]:
    """Around a statement inserting ``adding`` rows into ``table``: when the load at least doubles
    the table, drop its plain secondary indexes first and build them again afterwards (yields
    whether it did). Inserting a million rows one by one into four B-trees cost about twice as
    long as sorting them into new ones.

    The primary key and every unique index stay, so nothing the database guarantees is ever off.
    The indexes are dropped and rebuilt inside the caller's transaction, from their own
    definitions (``pg_get_indexdef``): an error rolls everything back, indexes included. The
    price: ``DROP INDEX`` locks the table until the transaction ends, so readers of the
    tenant's table wait for the load to commit. That is why only a load at least the table's
    size, such as a first import, is given this path."""
    if adding < DEFER_MIN_ROWS:
        yield False
        return
    cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT %s) t", [adding])
    if cursor.fetchone()[0] >= adding:
        yield False
        return
    cursor.execute("""SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
                       WHERE i.indrelid = %s::regclass AND NOT i.indisunique AND NOT i.indisprimary
                         AND i.indisvalid ORDER BY i.indexrelid""", [table])
    definitions = cursor.fetchall()
    for name, _ in definitions:
        cursor.execute(f"DROP INDEX {name}")
    yield True
    for _, definition in definitions:
        cursor.execute(definition)
