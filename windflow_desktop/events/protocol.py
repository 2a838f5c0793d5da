"""The ``EventBus`` protocol every bus implements and services publish to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from enum import StrEnum
from typing import Protocol

from ..domain.events import Event

EventHandler = Callable[[Event], Awaitable[None] | None]
"""A handler is sync or async; an exception it raises is logged and never stops the bus."""

StateCallback = Callable[["BusState"], None]
DroppedCallback = Callable[[int], None]
"""Called with the total number of queued publishes dropped so far."""


class BusState(StrEnum):
    LOCAL = "local"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    STALLED = "stalled"
    """A reader (or the dispatcher) died and is being restarted: no live updates now."""
    CLOSED = "closed"


class Subscription(Protocol):
    def cancel(self) -> None: ...


class EventBus(Protocol):
    """Publish events after commit; handlers see each event once, in order per stream.

    ``publish`` never waits for the network: the event is queued (bounded) and sent in
    order; ``start`` returns once the first connection attempt is done (or failed, in
    which case the bus keeps retrying in the background); ``close`` is idempotent.
    """

    @property
    def state(self) -> BusState: ...

    @property
    def dropped_count(self) -> int:
        """How many queued publishes were dropped because the queue overflowed."""
        ...

    async def start(self) -> None: ...
    async def publish(self, event: Event) -> None: ...
    async def publish_many(self, events: Iterable[Event]) -> None: ...
    def subscribe(
        self, handler: EventHandler, types: Iterable[str] | None = None
    ) -> Subscription: ...
    def on_state_changed(self, callback: StateCallback) -> Subscription: ...
    def on_dropped(self, callback: DroppedCallback) -> Subscription: ...
    async def close(self) -> None: ...
