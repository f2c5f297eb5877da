"""Secondary indexes built once after a big load instead of maintained row by row."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, transaction

logger = logging.getLogger(__name__)

#: Loads smaller than this keep every index: the saving would not pay for the DDL.
DEFER_MIN_ROWS = 20_000
#: How long the load waits for readers of the table to finish before it keeps the indexes instead.
LOCK_TIMEOUT = "2s"


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
    size, such as a first import, is given this path, and why it gives up (keeping the indexes,
    nothing else changes) when a reader holds the table for more than LOCK_TIMEOUT, or when the
    database role may not drop the indexes: a waiting DROP would queue every later reader."""
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
    cursor.execute("SELECT current_setting('lock_timeout')")
    lock_timeout = cursor.fetchone()[0]
    try:
        with transaction.atomic():  # a savepoint: a refused DROP leaves the transaction usable
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [LOCK_TIMEOUT])
            for name, _ in definitions:
                cursor.execute(f"DROP INDEX {name}")
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [lock_timeout])
    except DatabaseError as error:
        logger.info("keeping the indexes of %s during the load: %s", table, error)
        yield False
        return
    yield True
    for _, definition in definitions:
        cursor.execute(definition)
