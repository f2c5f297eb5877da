"""Hook points of the customers app, for the apps that build on it without being imported by it.

- Events: ``subscribe("order.ingested", handler)``. Handlers run after the writing transaction
  commits (``transaction.on_commit``), in the same tenant schema, with keyword arguments of ids
  only; they should enqueue a Celery task rather than work inline. Events:
  ``order.ingested`` (order_id, customer_id, outcome="created"|"updated"),
  ``customer.created`` (customer_id, source), ``customer.updated`` (customer_id, fields).
  A failing handler is logged and does not stop the others.
- Customer 360 sections: ``register_customer_360_section("scores", provider)``; the API and the
  portal call ``provider(customer_id=...)`` and show what it returns (analytics adds RFM/CLV/churn).
- List filters: ``register_customer_filter("segment", filter_factory)`` adds a filter to the
  shared CustomerFilter (analytics adds "segment").
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

logger = logging.getLogger(__name__)

EVENTS = ("order.ingested", "customer.created", "customer.updated", "customer.merged")

_subscribers: dict[str, list[Callable[..., None]]] = defaultdict(list)


def subscribe(event: str, handler: Callable[..., None]) -> None:
    if event not in EVENTS:
        raise ValueError(f"Unknown customers event '{event}'. Known: {', '.join(EVENTS)}")
    if handler not in _subscribers[event]:
        _subscribers[event].append(handler)


def unsubscribe(event: str, handler: Callable[..., None]) -> None:
    if handler in _subscribers.get(event, []):
        _subscribers[event].remove(handler)


def has_subscribers(event: str) -> bool:
    return bool(_subscribers.get(event))


def publish(events: list[tuple[str, dict]]) -> None:
    """Deliver ``[(event, kwargs), ...]`` now. Services call ``publish_on_commit`` instead."""
    for event, kwargs in events:
        for handler in list(_subscribers.get(event, [])):
            try:
                handler(**kwargs)
            except Exception:  # a subscriber's bug must not undo or block the others
                logger.exception("customers event handler %r failed for %s", handler, event)


def publish_on_commit(events: list[tuple[str, dict]]) -> None:
    from django.db import transaction

    wanted = [(event, kwargs) for event, kwargs in events if has_subscribers(event)]
    if wanted:
        transaction.on_commit(lambda: publish(wanted))


_customer_360_sections: dict[str, Callable[..., object]] = {}


def register_customer_360_section(name: str, provider: Callable[..., object]) -> None:
    """``provider(customer_id=...)`` returns JSON-friendly data, or None when it has nothing."""
    _customer_360_sections[name] = provider


def customer_360_sections() -> list[tuple[str, Callable[..., object]]]:
    return sorted(_customer_360_sections.items())


_customer_filters: dict[str, Callable[[], object]] = {}


def register_customer_filter(name: str, factory: Callable[[], object]) -> None:
    """``factory()`` returns a django_filters Filter instance added to CustomerFilter as ``name``."""
    _customer_filters[name] = factory


def customer_filters() -> list[tuple[str, Callable[[], object]]]:
    return sorted(_customer_filters.items())
