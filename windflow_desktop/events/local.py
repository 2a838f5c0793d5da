"""``LocalBus``: the in-process event bus, used when no Redis is configured."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable

from ..domain.events import Event
from .dispatch import Deduper, Listeners
from .protocol import BusState

log = logging.getLogger("windflow.bus")


class LocalBus(Listeners):
    """Delivers events to this process's handlers, in publish order, on the asyncio loop.

    ``publish`` only queues; one dispatcher task runs the handlers (sync or async) one
    after the other, so handlers see events in FIFO order. The dispatcher yields to the
    loop every ``yield_every`` events so a burst never freezes the UI. Must be used from
    the loop's thread.
    """

    def __init__(
        self, *, dedupe_size: int = 50_000, yield_every: int = 200,
        close_drain_s: float = 2.0,
    ) -> None:
        super().__init__()
        self._dedupe = Deduper(dedupe_size)
        self._queue: deque[Event] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._yield_every = max(1, yield_every)
        self._close_drain_s = close_drain_s
        self._task: asyncio.Task[None] | None = None
        self._state = BusState.LOCAL
        self.delivered_count = 0

    @property
    def state(self) -> BusState:
        return self._state

    @property
    def dropped_count(self) -> int:
        return 0  # the in-process queue is only bounded by memory

    async def start(self) -> None:
        if self._state is BusState.CLOSED:
            raise RuntimeError("LocalBus is closed")
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._dispatch_loop(), name="windflow.bus.local"
            )

    async def publish(self, event: Event) -> None:
        self._enqueue(event)

    async def publish_many(self, events: Iterable[Event]) -> None:
        for event in events:
            self._enqueue(event)

    def _enqueue(self, event: Event) -> None:
        if self._state is BusState.CLOSED:
            log.warning("publish on a closed bus dropped %s %s", event.event_type,
                        event.event_id)
            return
        self._queue.append(event)
        self._idle.clear()
        self._wake.set()

    async def wait_idle(self) -> None:
        """Wait until every event published so far went through the handlers."""
        await self._idle.wait()

    async def _dispatch_loop(self) -> None:
        queue = self._queue
        since_yield = 0
        while True:
            await self._wake.wait()
            while queue:
                event = queue.popleft()
                if self._dedupe.first_time(event.event_id):
                    await self._handlers.dispatch(event)
                    self.delivered_count += 1
                since_yield += 1
                if since_yield >= self._yield_every:
                    since_yield = 0
                    await asyncio.sleep(0)
            self._wake.clear()
            self._idle.set()

    async def close(self) -> None:
        """Deliver what is queued (for at most ``close_drain_s``), then stop; idempotent."""
        if self._state is BusState.CLOSED:
            return
        task, self._task = self._task, None
        if task is not None and self._queue:
            try:
                await asyncio.wait_for(self._idle.wait(), self._close_drain_s)
            except TimeoutError:
                log.warning("LocalBus closed with %d events undelivered", len(self._queue))
        self._state = BusState.CLOSED
        self._state_callbacks.emit(BusState.CLOSED)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._queue.clear()
        self._state_callbacks.clear()
        self._dropped_callbacks.clear()
