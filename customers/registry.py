"""Hook points of the customers app, for the apps that build on it without being imported by it.

- Events: ``subscribe("order.ingested", handler)``. Handlers run after the writing transaction
  commits (``transaction.on_commit``), in the same tenant schema, with keyword arguments of ids
  only; they should enqueue a Celery task rather than work inline. Events:
  ``order.ingested`` (order_id, customer_id, outcome="created"|"updated"),
  ``customer.created`` (customer_id, source), ``customer.updated`` (customer_id, fields),
  ``customer.merged`` (customer_id of the survivor, merged_ids, merge_id).
  A failing handler is logged and does not stop the others.
- Customer 360 sections: ``register_customer_360_section("scores", provider)``; the API and the
  portal call ``provider(customer_id=...)`` and show what it returns (analytics adds RFM/CLV/churn).
- List filters: ``register_customer_filter("segment", filter_factory)`` adds a filter to the
  shared CustomerFilter (analytics adds "segment").
- Counted-sale dependents: ``register_counted_sale_dependent("analytics", recompute)``; when the
  tenant's counted-sale rule changes, the recorded recomputation calls
  ``recompute(tenant=, actor=, inline=)`` after the customer aggregates and loyalty, and stores
  the dict it returns in the job's progress (analytics starts a run).
"""

from __future__ import annotations

from collections.abc import Callable

from cdp.events import EventBus

EVENTS = ("order.ingested", "customer.created", "customer.updated", "customer.merged")

bus = EventBus("customers", EVENTS)
subscribe = bus.subscribe
unsubscribe = bus.unsubscribe
has_subscribers = bus.has_subscribers
publish = bus.publish
publish_on_commit = bus.publish_on_commit

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


_counted_sale_dependents: dict[str, Callable[..., dict]] = {}


def register_counted_sale_dependent(name: str, recompute: Callable[..., dict]) -> None:
    """``recompute(tenant=, actor=, inline=)`` redoes what ``name`` computed from counted sales;
    ``inline`` asks it to finish before returning (commands, tests) instead of queueing work."""
    _counted_sale_dependents[name] = recompute


def counted_sale_dependents() -> list[tuple[str, Callable[..., dict]]]:
    return sorted(_counted_sale_dependents.items())
