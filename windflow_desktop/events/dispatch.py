"""Pieces both buses share: handler registry, callback lists, event-id de-duplication."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from ..domain.events import Event
from .protocol import BusState, DroppedCallback, EventHandler, StateCallback

log = logging.getLogger("windflow.bus")

T = TypeVar("T")


class CallbackSubscription:
    """Cancels one registration; cancelling twice is harmless."""

    def __init__(self, cancel: Callable[[], None]) -> None:
        self._cancel: Callable[[], None] | None = cancel

    @property
    def active(self) -> bool:
        return self._cancel is not None

    def cancel(self) -> None:
        cancel, self._cancel = self._cancel, None
        if cancel is not None:
            cancel()


class _Entry:
    __slots__ = ("handler", "prefixes", "types")

    def __init__(self, handler: EventHandler, types: Iterable[str] | None) -> None:
        self.handler = handler
        if types is None:
            self.types: frozenset[str] | None = None
            self.prefixes: tuple[str, ...] = ()
        else:
            wanted = set(types)
            # "<aggregate>.*" subscribes to every event of one aggregate.
            self.prefixes = tuple(t[:-1] for t in wanted if t.endswith(".*"))
            self.types = frozenset(t for t in wanted if not t.endswith(".*"))

    def matches(self, event_type: str) -> bool:
        if self.types is None or event_type in self.types:
            return True
        return any(event_type.startswith(p) for p in self.prefixes)


class HandlerRegistry:
    """Handlers in subscription order; dispatch runs them one after the other."""

    def __init__(self) -> None:
        # Copy-on-write so a handler may (un)subscribe while events are dispatched.
        self._entries: tuple[_Entry, ...] = ()

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, handler: EventHandler, types: Iterable[str] | None) -> CallbackSubscription:
        entry = _Entry(handler, types)
        self._entries = (*self._entries, entry)

        def remove() -> None:
            self._entries = tuple(e for e in self._entries if e is not entry)

        return CallbackSubscription(remove)

    async def dispatch(self, event: Event) -> None:
        """Run every matching handler; a failing one is logged and the others still run.

        That includes a handler raising ``CancelledError`` of its own (it awaited a task
        someone cancelled): only the cancellation of the bus's task itself goes through.
        """
        for entry in self._entries:
            if not entry.matches(event.event_type):
                continue
            try:
                result = entry.handler(event)
                if result is not None and inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception(
                    "event handler %r failed on %s %s",
                    entry.handler, event.event_type, event.event_id,
                )
            except asyncio.CancelledError:
                if _being_cancelled():
                    raise
                log.exception(
                    "event handler %r was cancelled on %s %s",
                    entry.handler, event.event_type, event.event_id,
                )


def _being_cancelled() -> bool:
    """Whether the running task itself was asked to stop (``Task.cancel()``)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class CallbackList(Generic[T]):
    """Plain callbacks (state changes, drop counts); each failure is logged."""

    def __init__(self) -> None:
        self._callbacks: tuple[Callable[[T], None], ...] = ()

    def add(self, callback: Callable[[T], None]) -> CallbackSubscription:
        self._callbacks = (*self._callbacks, callback)

        def remove() -> None:
            self._callbacks = tuple(c for c in self._callbacks if c is not callback)

        return CallbackSubscription(remove)

    def clear(self) -> None:
        self._callbacks = ()

    def emit(self, value: T) -> None:
        for callback in self._callbacks:
            try:
                callback(value)
            except Exception:
                log.exception("bus callback %r failed", callback)


class Deduper:
    """Remembers the last ``size`` event ids (LRU) so redeliveries reach handlers once."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self._seen: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def first_time(self, event_id: str) -> bool:
        """True the first time an id is seen (and records it); False for a repeat."""
        seen = self._seen
        if event_id in seen:
            seen.move_to_end(event_id)
            return False
        seen[event_id] = None
        if len(seen) > self.size:
            seen.popitem(last=False)
        return True


class Listeners:
    """What both buses keep for their listeners: event handlers, bus-state callbacks and
    dropped-publish callbacks, with the three ``EventBus`` methods that register them."""

    def __init__(self) -> None:
        self._handlers = HandlerRegistry()
        self._state_callbacks: CallbackList[BusState] = CallbackList()
        self._dropped_callbacks: CallbackList[int] = CallbackList()

    def subscribe(
        self, handler: EventHandler, types: Iterable[str] | None = None
    ) -> CallbackSubscription:
        return self._handlers.add(handler, types)

    def on_state_changed(self, callback: StateCallback) -> CallbackSubscription:
        return self._state_callbacks.add(callback)

    def on_dropped(self, callback: DroppedCallback) -> CallbackSubscription:
        return self._dropped_callbacks.add(callback)
