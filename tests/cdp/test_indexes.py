"""``cdp.indexes``: a table's plain indexes dropped around a big write and built again after it."""

from __future__ import annotations

import threading

from django.db import connection, transaction
from django_tenants.utils import tenant_context

from cdp.indexes import plain_indexes, plain_indexes_rebuilt


def _definitions(cursor, table):
    cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                   "AND tablename = %s ORDER BY indexname", [table])
    return cursor.fetchall()


def test_plain_indexes_are_dropped_for_the_block_and_rebuilt_as_they_were(world):
    with tenant_context(world.alpha), connection.cursor() as cursor:
        before = _definitions(cursor, "customers_order")
        plain = plain_indexes(cursor, "customers_order")
        # the primary key and the unique (source, external id) stay; the others are plain
        assert plain and all("UNIQUE" not in definition for _, definition in plain)
        assert len(plain) < len(before)
        with plain_indexes_rebuilt(cursor, "customers_order") as dropped:
            assert dropped is True
            during = {name for name, _ in _definitions(cursor, "customers_order")}
            assert during == {name for name, definition in before if "UNIQUE" in definition}
        assert _definitions(cursor, "customers_order") == before


def test_with_a_lock_timeout_a_reader_keeps_the_indexes_and_says_why(world):
    reading, done = threading.Event(), threading.Event()

    def reader():
        try:
            with tenant_context(world.beta), transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM customers_order LIMIT 1")  # ACCESS SHARE until the end
                reading.set()
                done.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=reader)
    thread.start()
    kept = []
    try:
        assert reading.wait(30)
        with tenant_context(world.beta), connection.cursor() as cursor:
            before = _definitions(cursor, "customers_order")
            with plain_indexes_rebuilt(cursor, "customers_order", lock_timeout="100ms", on_kept=kept.append) as dropped:
                assert dropped is False
                assert _definitions(cursor, "customers_order") == before
                cursor.execute("SELECT 1")  # the transaction is still usable
    finally:
        done.set()
        thread.join()
    assert len(kept) == 1 and "lock timeout" in str(kept[0])
