"""The bulk loader's rule for when to build a table's indexes after the load instead of during it
(the dropping and rebuilding itself is ``cdp.indexes.plain_indexes_rebuilt``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from cdp.indexes import plain_indexes_rebuilt
from customers.services.bulk.columns import in_records_mode

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

    ``DROP INDEX`` locks the table until the transaction ends, so readers of the tenant's table
    wait for the load to commit. That is why only a load at least the table's size, such as a
    first import, is given this path, and why it gives up (keeping the indexes, nothing else
    changes) when a reader holds the table for more than LOCK_TIMEOUT, or when the database role
    may not drop the indexes."""
    if adding < DEFER_MIN_ROWS or in_records_mode():  # a batch of records never locks a table for DDL
        yield False
        return
    cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT %s) t", [adding])
    if cursor.fetchone()[0] >= adding:
        yield False
        return
    def kept(error):
        logger.info("keeping the indexes of %s during the load: %s", table, error)

    with plain_indexes_rebuilt(cursor, table, lock_timeout=LOCK_TIMEOUT, on_kept=kept) as dropped:
        yield dropped
