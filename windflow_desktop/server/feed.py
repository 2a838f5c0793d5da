"""The server's live feed: every event the bus delivers gets an id in arrival order and
is kept — in a ring in memory (the in-process bus: ``<boot>-<n>``), or in one Redis
stream (a team's Redis: the entry ids, so a client resumes across server restarts) —
then fanned out to each open stream's queue. A client that reconnects with
``Last-Event-ID`` gets what it missed exactly once; one whose id cannot be resumed from
is told to reload (``reset``); a stream too slow to keep up is ended the same way, never
allowed to hold the others back."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from ..domain.events import Event, well_formed
from ..events.protocol import EventBus, Subscription

RING = 10_000
QUEUE = 2_000
FEED_STREAM = "windflow:feed"
log = logging.getLogger("windflow.server.feed")


@dataclass(frozen=True)
class Numbered:
    id: str
    event: Event

    @cached_property
    def frame(self) -> str:
        """The event as one Server-Sent Events frame, rendered once for every stream."""
        return sse_frame(self.event.event_type, self.id, self.event.to_dict())


def sse_frame(kind: str, event_id: str | None, data: dict[str, Any]) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


class Reset(Exception):
    """The client must reload: what it missed cannot be replayed."""


class FeedStore(Protocol):
    @property
    def last_id(self) -> str: ...
    async def append(self, event: Event) -> str: ...
    async def since(self, last_id: str) -> list[Numbered]: ...
    def order(self, event_id: str) -> tuple[int, ...]: ...


class RingStore:
    """This process's events, the newest ``size`` of them."""

    def __init__(self, size: int = RING) -> None:
        self._boot = uuid.uuid4().hex[:8]
        self._seq = 0
        self._ring: deque[Numbered] = deque(maxlen=size)

    @property
    def last_id(self) -> str:
        return f"{self._boot}-{self._seq}"

    async def append(self, event: Event) -> str:
        self._seq += 1
        self._ring.append(Numbered(self.last_id, event))
        return self.last_id

    async def since(self, last_id: str) -> list[Numbered]:
        boot, _, number = last_id.partition("-")
        if boot != self._boot or not number.isdigit() or int(number) > self._seq:
            raise Reset()
        after = int(number)
        oldest = self._seq - len(self._ring) + 1
        if after + 1 < oldest:
            raise Reset()
        return list(self._ring)[after + 1 - oldest:]

    def order(self, event_id: str) -> tuple[int, ...]:
        return (int(event_id.rpartition("-")[2]),)


class RedisStore:
    """One Redis stream the server appends every event to (trimmed near ``size``): its
    entry ids outlive the server process."""

    def __init__(self, redis: Any, size: int = 100_000) -> None:
        self._redis = redis
        self._size = size
        self._last = "0-0"

    async def start(self) -> None:
        newest = await self._redis.xrevrange(FEED_STREAM, count=1)
        if newest:
            self._last = _text(newest[0][0])

    @property
    def last_id(self) -> str:
        return self._last

    async def append(self, event: Event) -> str:
        raw = json.dumps(event.to_dict(), separators=(",", ":"))
        self._last = _text(await self._redis.xadd(FEED_STREAM, {"event": raw},
                                                  maxlen=self._size, approximate=True))
        return self._last

    async def since(self, last_id: str) -> list[Numbered]:
        if not _entry_id(last_id) or self.order(last_id) > self.order(self._last):
            raise Reset()  # not an id of this stream
        oldest = await self._redis.xrange(FEED_STREAM, count=1)
        if oldest and self.order(last_id) < self.order(_text(oldest[0][0])):
            raise Reset()  # older than what is kept: some may have been trimmed away
        out: list[Numbered] = []
        start = f"({last_id}"
        while True:
            entries = await self._redis.xrange(FEED_STREAM, min=start, count=1000)
            for entry_id, fields in entries:
                raw = fields.get(b"event") or fields.get("event")
                out.append(Numbered(_text(entry_id), Event.from_dict(json.loads(raw))))
            if len(entries) < 1000:
                return out
            start = f"({_text(entries[-1][0])}"

    def order(self, event_id: str) -> tuple[int, ...]:
        millis, _, seq = event_id.partition("-")
        return int(millis), int(seq or 0)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _entry_id(text: str) -> bool:
    millis, dash, seq = text.partition("-")
    return bool(dash) and millis.isdigit() and seq.isdigit()


class EventFeed:
    def __init__(self, bus: EventBus, store: FeedStore | None = None) -> None:
        self._bus = bus
        self.store: FeedStore = store or RingStore()
        self._queues: set[asyncio.Queue[Numbered | None]] = set()
        self._subscription: Subscription | None = None
        self.closing = False  # the server stops: streams end quietly (clients resume)

    def start(self) -> None:
        self._subscription = self._bus.subscribe(self._arrived)

    def end_streams(self) -> None:
        """The server is stopping: every stream ends now (its client comes back with
        ``Last-Event-ID``), so the shutdown need not wait for them."""
        self.closing = True
        for queue in list(self._queues):
            _force(queue, None)

    def close(self) -> None:
        if self._subscription is not None:
            self._subscription.cancel()
        self.end_streams()

    @property
    def last_id(self) -> str:
        return self.store.last_id

    async def _arrived(self, event: Event) -> None:
        if not well_formed(event):  # its payload is not what its type promises: not sent
            log.warning("event %s %s dropped: malformed payload", event.event_type,
                        event.event_id)
            return
        numbered = Numbered(await self.store.append(event), event)
        for queue in list(self._queues):
            if not _offer(queue, numbered):
                self._queues.discard(queue)  # too slow: it ends with a reset
                _force(queue, None)

    async def missed(self, last_event_id: str | None) -> list[Numbered]:
        """What came after ``last_event_id`` (none given: nothing, the client starts
        now); raises ``Reset`` when that cannot be told."""
        if not last_event_id:
            return []
        return await self.store.since(last_event_id)

    def after(self, numbered: Numbered, last_id: str | None) -> bool:
        """Whether ``numbered`` came after ``last_id`` (None: everything did)."""
        return last_id is None or self.store.order(numbered.id) > self.store.order(last_id)

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
