"""The server's live feed: every event the bus delivers, numbered in arrival order
(``<boot>-<n>``), kept in a ring so a client that reconnects with ``Last-Event-ID``
gets what it missed exactly once, and fanned out to each open stream's queue. A client
whose id this process does not know (another boot, or older than the ring) is told to
reload (``reset``); a stream too slow to keep up is ended the same way, never allowed
to hold the others back."""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..domain.events import Event
from ..events.protocol import EventBus, Subscription

RING = 10_000
QUEUE = 2_000


@dataclass(frozen=True)
class Numbered:
    id: str
    event: Event


class Reset(Exception):
    """The client must reload: what it missed cannot be replayed."""


class EventFeed:
    def __init__(self, bus: EventBus, ring: int = RING) -> None:
        self._bus = bus
        self._boot = uuid.uuid4().hex[:8]
        self._seq = 0
        self._ring: deque[Numbered] = deque(maxlen=ring)
        self._queues: set[asyncio.Queue[Numbered | None]] = set()
        self._subscription: Subscription | None = None

    def start(self) -> None:
        self._subscription = self._bus.subscribe(self._arrived)

    def close(self) -> None:
        if self._subscription is not None:
            self._subscription.cancel()
        for queue in list(self._queues):
            _offer(queue, None)

    @property
    def last_id(self) -> str:
        return f"{self._boot}-{self._seq}"

    def _arrived(self, event: Event) -> None:
        self._seq += 1
        numbered = Numbered(f"{self._boot}-{self._seq}", event)
        self._ring.append(numbered)
        for queue in list(self._queues):
            if not _offer(queue, numbered):
                self._queues.discard(queue)  # too slow: it ends with a reset
                _force(queue, None)

    def missed(self, last_event_id: str | None) -> list[Numbered]:
        """What came after ``last_event_id`` (none given: nothing, the client starts
        now); raises ``Reset`` when that cannot be told."""
        if not last_event_id:
            return []
        boot, _, number = last_event_id.partition("-")
        if boot != self._boot or not number.isdigit() or int(number) > self._seq:
            raise Reset()
        after = int(number)
        if after == self._seq:
            return []
        oldest = self._seq - len(self._ring) + 1
        if after + 1 < oldest:
            raise Reset()
        return list(self._ring)[after + 1 - oldest:]

    @contextmanager
    def listening(self) -> Iterator[asyncio.Queue[Numbered | None]]:
        """A queue of what arrives from now on (``None``: the stream must end)."""
        queue: asyncio.Queue[Numbered | None] = asyncio.Queue(QUEUE)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)


def _offer(queue: asyncio.Queue[Numbered | None], item: Numbered | None) -> bool:
    try:
        queue.put_nowait(item)
    except asyncio.QueueFull:
        return False
    return True


def _force(queue: asyncio.Queue[Numbered | None], item: Numbered | None) -> None:
    while not _offer(queue, item):
        queue.get_nowait()
