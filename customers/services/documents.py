"""Key rotation of the sealed identity documents (customers/documents.py).

``documents_rotate`` runs in each tenant from ``manage.py rotate_credentials`` (registered in
customers/apps.py): after a new key is put first in CDP_CREDENTIALS_KEYS, every sealed document is
re-encrypted with it and re-hashed under the key derived from it, and so are the sealed values of
the change log and of merge snapshots; then the old key can be dropped. Until it has run, reads
decrypt with any configured key and lookups try every key's hash, so nothing stops matching.
"""

from __future__ import annotations

from django.db import connection, transaction

from customers.documents import SEALED_FIELDS, document_hash, is_sealed, reseal, unseal
from customers.models import Customer, CustomerChangeLog, CustomerMerge

BATCH = 2000


def _batches(cursor, sql: str, *params):
    """``sql`` (``id > %s`` first, ``LIMIT %s`` last) run page by page in id order."""
    last = 0
    while True:
        cursor.execute(sql, [last, *params, BATCH])
        rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def customers_documents_reseal(cursor) -> int:
    """Re-encrypt and re-hash every customer's document with the newest key (set-based per page of
    rows, so a million rows are a few hundred statements); returns how many."""
    table = Customer._meta.db_table
    count = 0
    for rows in _batches(cursor, f"SELECT id, document_number FROM {table} WHERE id > %s "
                                 "AND document_number IS NOT NULL ORDER BY id LIMIT %s FOR UPDATE"):
        cursor.execute(f"""
            UPDATE {table} c SET document_number = v.token, document_hash = v.hash
              FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::text[]) AS token, unnest(%s::text[]) AS hash) v
             WHERE c.id = v.id""", [[pk for pk, _token in rows], [reseal(token) for _pk, token in rows],
                                   [document_hash(unseal(token)) for _pk, token in rows]])
        count += len(rows)
    return count


def change_logs_reseal(cursor) -> int:
    """Re-encrypt the sealed old/new values of the change log; returns how many rows."""
    table = CustomerChangeLog._meta.db_table
    count = 0
    for rows in _batches(cursor, f"SELECT id, old_value, new_value FROM {table} WHERE id > %s "
                                 "AND field = ANY(%s) ORDER BY id LIMIT %s FOR UPDATE", sorted(SEALED_FIELDS)):
        cursor.execute(f"""
            UPDATE {table} l SET old_value = v.old, new_value = v.new
              FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::text[]) AS old, unnest(%s::text[]) AS new) v
             WHERE l.id = v.id""", [[row[0] for row in rows], [reseal(row[1] or None) for row in rows],
                                   [reseal(row[2] or None) for row in rows]])
        count += len(rows)
    return count


def _snapshot_reseal(value):
    if isinstance(value, dict):
        return {key: _snapshot_reseal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_snapshot_reseal(item) for item in value]
    return reseal(value) if is_sealed(value) else value


def merge_snapshots_reseal() -> int:
    """Re-encrypt the sealed values merge snapshots keep for their undo; returns how many merges."""
    count = 0
    for merge in CustomerMerge.objects.select_for_update().filter(snapshot__icontains="enc:").iterator():
        merge.snapshot = _snapshot_reseal(merge.snapshot)
        merge.save(update_fields=["snapshot"])
        count += 1
    return count


@transaction.atomic
def documents_rotate() -> int:
    """Re-encrypt every sealed document value of the current schema with the newest credentials
    key and re-hash the documents; returns how many values. Raises CredentialsUnreadable (nothing
    written) when a value opens with none of the configured keys."""
    with connection.cursor() as cursor:
        count = customers_documents_reseal(cursor) + change_logs_reseal(cursor)
    return count + merge_snapshots_reseal()
