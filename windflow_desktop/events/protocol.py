"""The ``EventBus`` protocol every bus implements and services publish to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from enum import StrEnum
from typing import Protocol

from ..domain.events import Event

EventHandler = Callable[[Event], Awaitable[None] | None]


class BusState(StrEnum):
    LOCAL = "local"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"


class Subscription(Protocol):
    def cancel(self) -> None: ...


class EventBus(Protocol):
    """Publish events after commit; handlers see each event once, in order per stream."""

    @property
    def state(self) -> BusState: ...

    async def start(self) -> None: ...
    async def publish(self, event: Event) -> None: ...
    def subscribe(
        self, handler: EventHandler, types: Iterable[str] | None = None
    ) -> Subscription: ...
    def on_state_changed(self, callback: Callable[[BusState], None]) -> Subscription: ...
    async def close(self) -> None: ...
