"""The data-access log's one write: a row per request that returned personal data."""

from __future__ import annotations

from django.db import connection, transaction

from cdp.context import Actor
from customers.models import DataAccessLog

#: How much of a list's query is kept (keys and characters): enough to say what was asked.
MAX_QUERY_KEYS = 20
MAX_QUERY_VALUE = 200


def access_record(*, actor: Actor, action: str, channel: str, resource_type: str, resource_id: object = "",
                  rows: int = 0, masked: bool = True, query: dict | None = None, path: str = "") -> DataAccessLog:
    """Append one entry (one INSERT, committed asynchronously when it is the request's only
    write): who (``actor``, with its IP), what
    (``action`` on ``resource_type``/``resource_id``, with the list's ``query``), how many people
    (``rows``), whether they saw it masked, through which ``channel``. Never updated afterwards."""
    entry = DataAccessLog(
        actor_label=(actor.label or "")[:255], user_id=actor.user_id, api_key_id=actor.api_key_id,
        action=action, channel=channel, resource_type=resource_type,
        resource_id="" if resource_id in (None, "") else str(resource_id)[:64], rows=max(int(rows or 0), 0),
        masked=masked, query=query or {}, path=(path or "")[:255], ip_address=actor.ip,
    )
    if connection.in_atomic_block:  # part of a larger write: commit with it
        entry.save(force_insert=True)
        return entry
    # A read on its own: the insert is its only write, and waiting for its WAL flush would be most
    # of the cost a read pays for being logged. An asynchronous commit is durable within the WAL
    # writer's delay (wal_writer_delay, 200 ms by default): a crash loses at most that much log.
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        entry.save(force_insert=True)
    return entry
