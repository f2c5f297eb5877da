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
  With ``top_level=True`` what it returns sits at the top of the 360 under ``name`` instead of
  under ``sections`` (loyalty's account, which was there before loyalty left customers).
- Merge handlers: ``register_merge_handler("loyalty", merge=, undo=)``. A merge calls
  ``merge(survivor_id=, merged_id=)`` inside its transaction, after the profiles and before the
  rows move, and keeps what it returns (JSON; None: nothing moved) in the merge's snapshot under
  ``name``; the undo calls ``undo(snapshot=that value, merged_id=)``. Errors are not swallowed: a
  handler that raises refuses the merge or its undo.
- Data-subject export sections: ``register_export_section("loyalty", provider)``; the export
  calls ``provider(customer_id=...)`` for each customer of the person and puts what it returns
  (JSON-friendly; None when there is nothing) under ``name``.
- List filters: ``register_customer_filter("segment", filter_factory)`` adds a filter to the
  shared CustomerFilter (analytics adds "segment").
- Erasure: ``register_erasure_handler("integrations", handler)``. Pseudonymization calls
  ``handler(erasure=Erasure(...))`` inside its own transaction, after the customers app has
  scrubbed its tables, so that an app erases what it keeps about the person (raw payloads,
  webhook bodies...) atomically with the profile: a handler that raises rolls the whole erasure
  back, and the person is never half-erased. Unlike events, handlers run before the commit and
  their errors are not swallowed. A handler returns how many rows it changed (for the audit).
- Consent gates: ``register_consent_gate("engagement", gate)``. Before ``consent_record`` records a
  grant that is not itself a confirmation, it calls ``gate(customer_id=, channel=, purpose=,
  source=, actor=, text_version=, ip_address=, user_agent=, reason=)`` inside its transaction; a
  gate that returns True has taken the grant over (engagement's double opt-in sent a confirmation
  link) and nothing is recorded until the person confirms.
- Counted-sale dependents: ``register_counted_sale_dependent("analytics", recompute, order=100)``;
  when the tenant's counted-sale rule changes, the recorded recomputation calls
  ``recompute(tenant=, actor=, inline=)`` (and ``statuses_before=, statuses_after=`` when
  registered ``with_statuses=True``) after the customer aggregates, in ``order`` (then name), and
  stores the dict it returns in the job's progress (loyalty, order 10, earns or gives back
  points; analytics, after it, starts a run).
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

_customer_360_sections: dict[str, tuple[Callable[..., object], bool]] = {}


def register_customer_360_section(name: str, provider: Callable[..., object], *, top_level: bool = False) -> None:
    """``provider(customer_id=...)`` returns JSON-friendly data, or None when it has nothing
    (``top_level``: data the 360's serializer renders under ``name``, e.g. a model instance)."""
    _customer_360_sections[name] = (provider, top_level)


def customer_360_sections() -> list[tuple[str, Callable[..., object]]]:
    """The sections shown under ``sections``."""
    return sorted((name, provider) for name, (provider, top) in _customer_360_sections.items() if not top)


def customer_360_top_level() -> list[tuple[str, Callable[..., object]]]:
    """The sections shown at the top of the 360, under their own name."""
    return sorted((name, provider) for name, (provider, top) in _customer_360_sections.items() if top)


@dataclass(frozen=True)
class MergeHandler:
    merge: Callable[..., object]
    undo: Callable[..., None]


_merge_handlers: dict[str, MergeHandler] = {}


def register_merge_handler(name: str, *, merge: Callable[..., object], undo: Callable[..., None]) -> None:
    """``merge(survivor_id=, merged_id=)`` moves what app ``name`` keeps about the merged customer
    to the survivor and returns a JSON snapshot (None: nothing moved); ``undo(snapshot=, merged_id=)``
    puts it back."""
    _merge_handlers[name] = MergeHandler(merge=merge, undo=undo)


def merge_handlers() -> list[tuple[str, MergeHandler]]:
    return sorted(_merge_handlers.items())


_export_sections: dict[str, Callable[..., object]] = {}


def register_export_section(name: str, provider: Callable[..., object]) -> None:
    """``provider(customer_id=...)`` returns what app ``name`` holds about that customer (JSON)."""
    _export_sections[name] = provider


def export_sections() -> list[tuple[str, Callable[..., object]]]:
    return sorted(_export_sections.items())


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


_consent_gates: dict[str, Callable[..., bool]] = {}


def register_consent_gate(name: str, gate: Callable[..., bool]) -> None:
    """``gate(customer_id=, channel=, purpose=, source=, actor=, ...)`` returns True to hold a grant
    back (it will be recorded, with the person's own proof, when they confirm)."""
    _consent_gates[name] = gate


def unregister_consent_gate(name: str) -> None:
    _consent_gates.pop(name, None)


def consent_gates() -> list[tuple[str, Callable[..., bool]]]:
    return sorted(_consent_gates.items())


_counted_sale_dependents: dict[str, tuple[int, Callable[..., dict], bool]] = {}


def register_counted_sale_dependent(name: str, recompute: Callable[..., dict], *, order: int = 100,
                                    with_statuses: bool = False) -> None:
    """``recompute(tenant=, actor=, inline=)`` redoes what ``name`` computed from counted sales;
    ``inline`` asks it to finish before returning (commands, tests) instead of queueing work.
    ``with_statuses``: it also gets ``statuses_before=`` and ``statuses_after=`` (tuples). Lower
    ``order`` runs first."""
    _counted_sale_dependents[name] = (order, recompute, with_statuses)


def counted_sale_dependents() -> list[tuple[str, Callable[..., dict]]]:
    """The dependents in the order they run, each as ``(name, call(tenant=, actor=, inline=,
    statuses_before=, statuses_after=))``."""
    def call(recompute, with_statuses):
        def run(*, statuses_before=(), statuses_after=(), **kwargs):
            if with_statuses:
                kwargs.update(statuses_before=tuple(statuses_before), statuses_after=tuple(statuses_after))
            return recompute(**kwargs)
        return run

    ordered = sorted(_counted_sale_dependents.items(), key=lambda item: (item[1][0], item[0]))
    return [(name, call(recompute, with_statuses)) for name, (_, recompute, with_statuses) in ordered]
