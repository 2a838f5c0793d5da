"""``RemoteBus``: the server's event stream (SSE) as the desktop's event bus — the same
handlers, the same event bridge as in local mode. It reconnects with backoff and
``Last-Event-ID``; when the server cannot replay what was missed it delivers one
``client.resync`` event (stores reload on it). The state says ``connected`` or
``reconnecting`` (``reason`` tells why). Only the server publishes: ``publish`` here
delivers to this window's own handlers."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable

import httpx

from ..domain.events import CLIENT_RESYNC, Event
from ..events.dispatch import Deduper, Listeners
from ..events.protocol import BusState
from ..events.supervisor import backoff_delay
from .client import ServerSession, response_lines

log = logging.getLogger("windflow.remote.events")
CONNECTING = "connecting"  # the reason before the stream's first answer
READ_TIMEOUT_S = 45.0  # the server pings every 15 s: three missed pings is a dead line


def why_not_live(exc: BaseException) -> str:
    """Why the stream is not live, in words (shown in the status bar and on the actions
    it disables)."""
    message = getattr(exc, "message", None)
    if message:
        return str(message)
    if isinstance(exc, httpx.ConnectError):
        return "it refuses connections: is it running?"
    if isinstance(exc, httpx.TimeoutException):
        return "it did not answer in time"
    if isinstance(exc, (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError)):
        return "the connection to it was cut"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class RemoteBus(Listeners):
    def __init__(self, session: ServerSession, *, backoff_s: float = 0.2,
                 backoff_max_s: float = 10.0) -> None:
        super().__init__()
        self._session = session
        self._backoff = (backoff_s, backoff_max_s)
        self._dedupe = Deduper(50_000)
        self._state = BusState.RECONNECTING
        self.reason = CONNECTING  # stores/connection.py counts this as still there
        self.last_event_id: str | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def state(self) -> BusState:
        return self._state

    @property
    def dropped_count(self) -> int:
        return 0

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(),
                                                                 name="remote-events")

    async def publish(self, event: Event) -> None:
        await self._deliver(event)

    async def publish_many(self, events: Iterable[Event]) -> None:
        for event in events:
            await self._deliver(event)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._set_state(BusState.CLOSED, "closed")

    def _set_state(self, state: BusState, reason: str) -> None:
        # The first failure before any answer is news too (still "reconnecting"): the
        # actions wait for the server from then on (stores/connection.py).
        first_failure = self.reason == CONNECTING and reason != CONNECTING
        self.reason = reason
        if (state is not self._state or first_failure) and self._state is not BusState.CLOSED:
            self._state = state
            log.info("server events: %s (%s)", state, reason)
            self._state_callbacks.emit(state)

    async def _deliver(self, event: Event) -> None:
        if self._dedupe.first_time(event.event_id):
            try:
                await self._handlers.dispatch(event)
            except Exception:
                log.exception("delivering %s failed", event.event_type)

    async def _run(self) -> None:
        attempt = 0
        while True:
            try:
                await self._read()
                reason = "the server ended the stream"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a dropped line, a restart, a refused session
                reason = why_not_live(exc)
            else:
                attempt = 0
            self._set_state(BusState.RECONNECTING, reason)
            attempt += 1
            await asyncio.sleep(backoff_delay(attempt, *self._backoff))

    async def _read(self) -> None:
        headers = {"Accept": "text/event-stream"}
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        timeout = httpx.Timeout(15.0, read=READ_TIMEOUT_S)
        async with self._session.http.stream("GET", "/events", headers=headers,
                                             timeout=timeout) as response:
            if response.status_code >= 400:
                await response.aread()
                from .errors import from_response

                raise from_response(response)
            kind, event_id, data = "", None, ""
            async with response_lines(response) as lines:
                async for line in lines:
                    if line:
                        field, _, value = line.partition(":")
                        value = value[1:] if value.startswith(" ") else value
                        if field == "event":
                            kind = value
                        elif field == "id":
                            event_id = value
                        elif field == "data":
                            data = value
                        continue
                    if kind:
                        await self._frame(kind, event_id, data)
                    kind, event_id, data = "", None, ""

    async def _frame(self, kind: str, event_id: str | None, data: str) -> None:
        if kind == "ready":
            self.last_event_id = event_id or self.last_event_id
            self._set_state(BusState.CONNECTED, "live")
            return
        if kind == "reset":
            self.last_event_id = event_id
            self._set_state(BusState.CONNECTED, "live (reloaded)")
            await self._deliver(Event(event_type=CLIENT_RESYNC, aggregate_type="client",
                                      aggregate_id="", data={}))
            return
        if kind == "error":
            raise RuntimeError(json.loads(data or "{}").get("reason", "the stream failed"))
        self.last_event_id = event_id or self.last_event_id
        self._set_state(BusState.CONNECTED, "live")
        await self._deliver(Event.from_dict(json.loads(data)))
