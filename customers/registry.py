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
- Erasure: ``register_erasure_handler("integrations", handler)``. Pseudonymization calls
  ``handler(erasure=Erasure(...))`` inside its own transaction, after the customers app has
  scrubbed its tables, so that an app erases what it keeps about the person (raw payloads,
  webhook bodies...) atomically with the profile: a handler that raises rolls the whole erasure
  back, and the person is never half-erased. Unlike events, handlers run before the commit and
  their errors are not swallowed. A handler returns how many rows it changed (for the audit).
- Counted-sale dependents: ``register_counted_sale_dependent("analytics", recompute)``; when the
  tenant's counted-sale rule changes, the recorded recomputation calls
  ``recompute(tenant=, actor=, inline=)`` after the customer aggregates and loyalty, and stores
  the dict it returns in the job's progress (analytics starts a run).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Erasure:
    """The person being erased, as an erasure handler sees it.

    ``customer_ids``: the profile and every profile merged into it (one person). ``orders``: their
    orders as ``(source, external_order_id)``, and ``order_ids``. ``terms``: lowercased strings
    that identify the person alone (email, document, phone, external ids, full name), for an
    ``ILIKE`` prefilter over rows not linked to them by id (a first name or a street is not
    enough to touch a row about someone else); ``identifiers``: the same without names, fewer
    patterns for big tables (each pattern is a pass over the text). ``matches(text)`` says whether a text
    identifies the person; ``scrub_json(value, person=False, keep=())`` returns a JSON value with
    the person's values and personal keys (``email``, ``customer_address_city``...; under
    ``person=True`` also ``name``, ``id``...) replaced by null, except keys in ``keep`` (your own
    ids), whose values are only checked against the person's; ``scrub_text(text)`` returns ""
    for a text that identifies the person, else the text."""

    customer_ids: tuple[int, ...]
    order_ids: tuple[int, ...]
    orders: tuple[tuple[str, str], ...]
    terms: tuple[str, ...]
    identifiers: tuple[str, ...]
    matches: Callable[[str], bool]
    scrub_json: Callable[..., object]
    scrub_text: Callable[[str], str]


_erasure_handlers: dict[str, Callable[..., int]] = {}


def register_erasure_handler(name: str, handler: Callable[..., int]) -> None:
    """``handler(erasure=Erasure)`` scrubs what app ``name`` keeps about the person; returns a count."""
    _erasure_handlers[name] = handler


def unregister_erasure_handler(name: str) -> None:
    """Forget handler ``name`` (an app being unloaded; a test's stand-in once the test is done)."""
    _erasure_handlers.pop(name, None)


def erasure_handlers() -> list[tuple[str, Callable[..., int]]]:
    return sorted(_erasure_handlers.items())


_counted_sale_dependents: dict[str, Callable[..., dict]] = {}


def register_counted_sale_dependent(name: str, recompute: Callable[..., dict]) -> None:
    """``recompute(tenant=, actor=, inline=)`` redoes what ``name`` computed from counted sales;
    ``inline`` asks it to finish before returning (commands, tests) instead of queueing work."""
    _counted_sale_dependents[name] = recompute


def counted_sale_dependents() -> list[tuple[str, Callable[..., dict]]]:
    return sorted(_counted_sale_dependents.items())
