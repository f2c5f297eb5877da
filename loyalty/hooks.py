"""Earning loyalty points from ingested orders, without slowing the ingest down.

``order.ingested`` is published once per order after the ingest commits, and the bulk loader
publishes up to a million of them in one go. Enqueueing a Celery task costs about a millisecond,
so one task per order would add minutes to a big import. The handler (a batch subscriber: one
call per publication) therefore only appends the order ids to a per-thread buffer (per tenant
schema) and sends one task per CHUNK ids, the ids written as ranges of consecutive ids (a bulk
import's ids mostly are), which keeps each message small and cheap to send; the tail is
sent when the request or task that ingested ends (``request_finished``/``task_postrun``), when
the process exits, or by anyone calling ``loyalty_pending_flush()`` (commands, tests).
The task (``loyalty.tasks.loyalty_orders_sync_task``) is idempotent: earning once per order is
guaranteed by the ledger's unique constraint, not by this buffer. Ids lost from the buffer (a
crash, the broker down) are picked up within the hour by ``loyalty_catch_up``.
"""

from __future__ import annotations

import atexit
import logging
import threading

from celery.signals import task_postrun
from django.core.signals import request_finished
from django.db import connection
from django_tenants.utils import get_public_schema_name

from cdp.events import batch_handler
from cdp.tasks import enqueue
from customers.registry import subscribe

logger = logging.getLogger(__name__)

CHUNK = 5000
_local = threading.local()


def _buffer() -> dict[str, list[int]]:
    buffer = getattr(_local, "orders", None)
    if buffer is None:
        buffer = _local.orders = {}
    return buffer


@batch_handler
def loyalty_order_ingested_handler(*, events: list[dict]) -> None:
    """Subscriber of ``order.ingested`` (all orders of a publication at once): remember the
    orders; send a task per CHUNK orders."""
    schema_name = connection.schema_name
    if schema_name == get_public_schema_name():  # orders live in tenant schemas only
        return
    ids = _buffer().setdefault(schema_name, [])
    ids.extend(event["order_id"] for event in events)
    while len(ids) >= CHUNK:
        _send(schema_name, ids[:CHUNK])
        del ids[:CHUNK]


def _send(schema_name: str, order_ids: list[int]) -> None:
    enqueue("loyalty.tasks.loyalty_orders_sync_task", options={"headers": {"_schema_name": schema_name}},
            id_ranges=id_ranges(order_ids))


def id_ranges(ids: list[int]) -> list[list[int]]:
    """``[1, 2, 3, 7, 5]`` → ``[[1, 3], [5, 5], [7, 7]]`` (sorted, consecutive ids joined)."""
    ranges: list[list[int]] = []
    for value in sorted(set(ids)):
        if ranges and value == ranges[-1][1] + 1:
            ranges[-1][1] = value
        else:
            ranges.append([value, value])
    return ranges


def loyalty_pending_flush(**_) -> int:
    """Send the buffered orders of this thread now; returns how many were sent."""
    buffer = _buffer()
    sent = 0
    while buffer:
        schema_name, ids = buffer.popitem()
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            try:
                _send(schema_name, chunk)
                sent += len(chunk)
            except Exception:  # the broker is down: loyalty_catch_up earns for them later
                logger.exception("could not enqueue loyalty sync for %s orders of %s", len(chunk), schema_name)
    return sent


def loyalty_hooks_connect() -> None:
    """Called once from ``LoyaltyConfig.ready()``."""
    subscribe("order.ingested", loyalty_order_ingested_handler)
    request_finished.connect(loyalty_pending_flush, dispatch_uid="loyalty.loyalty_pending_flush")
    task_postrun.connect(loyalty_pending_flush, dispatch_uid="loyalty.loyalty_pending_flush", weak=False)
    atexit.register(loyalty_pending_flush)
