"""Secondary indexes built once after a big write into a table instead of maintained row by row.

Inserting a million rows one by one into a table's B-trees costs several times what sorting the
same keys into new indexes costs. ``plain_indexes_rebuilt`` drops a table's plain indexes around
such a write and builds them again from their own definitions (``pg_get_indexdef``), inside the
caller's transaction: an error rolls everything back, indexes included. The primary key and every
unique index stay, so nothing the database guarantees is ever off while the indexes are gone.

The price: ``DROP INDEX`` locks the table until the transaction ends, so its readers wait for the
commit. Give it ``lock_timeout`` when readers may hold the table (a tenant's live customers): it
then keeps the indexes (and yields False) rather than queue behind them, since a waiting DROP
would queue every later reader too. Used by the bulk order loader (customers) and by the result
tables analytics rewrites whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import DatabaseError, transaction


def plain_indexes(cursor, table: str) -> list[tuple[str, str]]:
    """``(name, definition)`` of ``table``'s valid indexes that are neither its primary key nor
    unique, in creation order (``name`` schema-qualified and quoted as needed)."""
    cursor.execute("""SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
                       WHERE i.indrelid = %s::regclass AND NOT i.indisunique AND NOT i.indisprimary
                         AND i.indisvalid ORDER BY i.indexrelid""", [table])
    return cursor.fetchall()


@contextmanager
def plain_indexes_rebuilt(cursor, table: str, *, lock_timeout: str | None = None,
                          on_kept: Callable[[DatabaseError], None] | None = None) -> Iterator[bool]:
    """Around a big write into ``table``: drop its plain indexes (``plain_indexes``), yield True,
    then build them again. With ``lock_timeout`` (``"2s"``), when a reader holds the table longer
    than that, or when the database role may not drop the indexes, nothing is dropped, ``on_kept``
    is told why, and it yields False (the write then maintains the indexes as usual). Without
    ``lock_timeout`` such an error is raised. Run it inside a transaction."""
    definitions = plain_indexes(cursor, table)
    if not definitions:
        yield False
        return
    try:
        with transaction.atomic():  # a savepoint: a refused DROP leaves the transaction usable
            if lock_timeout is not None:
                cursor.execute("SELECT current_setting('lock_timeout')")
                previous = cursor.fetchone()[0]
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [lock_timeout])
            for name, _ in definitions:
                cursor.execute(f"DROP INDEX {name}")
            if lock_timeout is not None:
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
    except DatabaseError as error:
        if lock_timeout is None:
            raise
        if on_kept is not None:
            on_kept(error)
        yield False
        return
    yield True
    for _, definition in definitions:
        cursor.execute(definition)
