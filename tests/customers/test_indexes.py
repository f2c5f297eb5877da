"""The customers' tables carry no index another one already provides (each costs every write,
most of all the bulk import's)."""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import tenant_context


def test_no_plain_index_repeats_the_leading_columns_of_another(world):
    with tenant_context(world.alpha), connection.cursor() as cursor:
        cursor.execute("""
            SELECT t.relname, i.indexrelid::regclass::text,
                   array(SELECT ARRAY[k, c] FROM unnest(i.indkey::int2[], i.indclass::oid[]::int8[]) AS u(k, c)),
                   i.indisunique, i.indpred IS NOT NULL
              FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
             WHERE t.relnamespace = current_schema()::regnamespace AND t.relname LIKE 'customers\\_%'
               AND i.indexprs IS NULL""")
        indexes = cursor.fetchall()
    repeated = []
    # columns are (column, operator class) pairs: a LIKE index on a unique text column is another
    # kind of index, not a repetition
    for table, name, columns, unique, partial in indexes:
        if partial:
            continue  # a partial index covers some rows only
        for other_table, other, other_columns, other_unique, other_partial in indexes:
            if (other_table == table and other != name and not other_partial
                    and list(other_columns[:len(columns)]) == list(columns)
                    and (len(other_columns) > len(columns) or not unique)):
                repeated.append((name, other))
    assert repeated == []
