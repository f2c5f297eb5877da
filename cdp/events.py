"""A small in-process event bus: an app publishes facts about its data, and apps built on it
subscribe without being imported by it (the dependency arrows of house-style.md stay one-way).

Handlers run after the publishing transaction commits, in the same tenant schema, with keyword
arguments of ids and small values only; they should enqueue a Celery task rather than work
inline. A failing handler is logged and does not stop the others. A bulk import publishes a
million events at once: a handler marked with ``@batch_handler`` is called once per event name
with ``events=[kwargs, ...]`` instead of once per event.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)


def batch_handler(handler: Callable[..., None]) -> Callable[..., None]:
    """Mark ``handler`` to receive all events of a publication at once: ``handler(events=[...])``."""
    handler.batch = True
    return handler


class EventBus:
    def __init__(self, owner: str, events: tuple[str, ...]):
        self.owner = owner
        self.events = events
        self._subscribers: dict[str, list[Callable[..., None]]] = defaultdict(list)

    def subscribe(self, event: str, handler: Callable[..., None]) -> None:
        if event not in self.events:
            raise ValueError(f"Unknown {self.owner} event '{event}'. Known: {', '.join(self.events)}")
        if handler not in self._subscribers[event]:
            self._subscribers[event].append(handler)

    def unsubscribe(self, event: str, handler: Callable[..., None]) -> None:
        if handler in self._subscribers.get(event, []):
            self._subscribers[event].remove(handler)

    def has_subscribers(self, event: str) -> bool:
        return bool(self._subscribers.get(event))

    def subscribers(self, event: str) -> tuple[Callable[..., None], ...]:
        """The handlers of ``event``, in subscription order (what an app wired, for its tests)."""
        return tuple(self._subscribers.get(event, ()))

    def publish(self, events: list[tuple[str, dict]]) -> None:
        """Deliver ``[(event, kwargs), ...]`` now, event by event name in order of first appearance.
        Services call ``publish_on_commit`` instead."""
        self._deliver(self._grouped(events))

    def _grouped(self, events: list[tuple[str, dict]]) -> dict[str, list[dict]]:
        """The events someone listens to, by name in order of first appearance (one pass)."""
        grouped: dict[str, list[dict]] = {}
        for event, kwargs in events:
            items = grouped.get(event)
            if items is None:
                items = grouped[event] = []
            items.append(kwargs)
        return {event: items for event, items in grouped.items() if self.has_subscribers(event)}

    def _deliver(self, grouped: dict[str, list[dict]]) -> None:
        for event, items in grouped.items():
            for handler in list(self._subscribers.get(event, [])):
                if getattr(handler, "batch", False):
                    self._call(handler, event, {"events": items})
                else:
                    for kwargs in items:
                        self._call(handler, event, kwargs)

    def _call(self, handler: Callable[..., None], event: str, kwargs: dict) -> None:
        try:
            handler(**kwargs)
        except Exception:  # a subscriber's bug must not undo or block the others
            logger.exception("%s event handler %r failed for %s", self.owner, handler, event)

    def publish_on_commit(self, events: list[tuple[str, dict]]) -> None:
        grouped = self._grouped(events)
        if grouped:
            transaction.on_commit(lambda: self._deliver(grouped))
