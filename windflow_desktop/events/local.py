"""``LocalBus``: the in-process event bus, used when no Redis is configured."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable

from ..domain.events import Event
from .dispatch import Deduper, Listeners
from .protocol import BusState
from .supervisor import SupervisedTask, backoff_delay

log = logging.getLogger("windflow.bus")


class LocalBus(Listeners):
    """Delivers events to this process's handlers, in publish order, on the asyncio loop.

    ``publish`` only queues; one dispatcher task runs the handlers (sync or async) one
    after the other, so handlers see events in FIFO order. The dispatcher yields to the
    loop every ``yield_every`` events so a burst never freezes the UI. Must be used from
    the loop's thread. A failure on one event never stops delivery of the next; should
    the dispatcher task die anyway, the state is ``STALLED`` until it is restarted (after
    ``restart_backoff_s``, doubling up to ``restart_backoff_max_s``).
    """

    def __init__(
        self, *, dedupe_size: int = 50_000, yield_every: int = 200,
        close_drain_s: float = 2.0, restart_backoff_s: float = 0.1,
        restart_backoff_max_s: float = 5.0,
    ) -> None:
        super().__init__()
        self._dedupe = Deduper(dedupe_size)
        self._queue: deque[Event] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._yield_every = max(1, yield_every)
        self._close_drain_s = close_drain_s
        self._dispatcher = SupervisedTask(
            "windflow.bus.local", self._dispatch_loop,
            backoff=lambda attempt: backoff_delay(attempt, restart_backoff_s,
                                                  restart_backoff_max_s),
            on_down=lambda: self._set_state(BusState.STALLED),
            on_restarted=lambda: self._set_state(BusState.LOCAL),
        )
        self._started = False
        self._state = BusState.LOCAL
        self.delivered_count = 0
        self.failed_count = 0  # events whose delivery failed outside any handler

    @property
    def restart_count(self) -> int:
        """How many times the dispatcher died and was started again."""
        return self._dispatcher.restart_count

    @property
    def state(self) -> BusState:
        return self._state

    @property
    def dropped_count(self) -> int:
        return 0  # the in-process queue is only bounded by memory

    async def start(self) -> None:
        if self._state is BusState.CLOSED:
            raise RuntimeError("LocalBus is closed")
        if not self._started:
            self._started = True
            self._dispatcher.start()

    def _set_state(self, state: BusState) -> None:
        if state is not self._state and self._state is not BusState.CLOSED:
            self._state = state
            log.info("bus state: %s", state)
            self._state_callbacks.emit(state)

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
        if queue:  # a restart after a death: what was queued meanwhile goes out now
            self._wake.set()
        while True:
            await self._wake.wait()
            while queue:
                event = queue.popleft()
                try:
                    if self._dedupe.first_time(event.event_id):
                        await self._handlers.dispatch(event)
                        self.delivered_count += 1
                except Exception:
                    self.failed_count += 1
                    log.exception("delivering %s %s failed", event.event_type, event.event_id)
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
        if self._started and self._queue:
            try:
                await asyncio.wait_for(self._idle.wait(), self._close_drain_s)
            except TimeoutError:
                log.warning("LocalBus closed with %d events undelivered", len(self._queue))
        task = self._dispatcher.halt()
        self._set_state(BusState.CLOSED)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._queue.clear()
        self._state_callbacks.clear()
        self._dropped_callbacks.clear()
