"""``RedisStreamBus``: events on Redis Streams, shared by every client of one Redis.

Layout: one stream per aggregate type, ``windflow:events:<aggregate_type>``, trimmed with
``XADD … MAXLEN ~``. Each client instance owns one consumer group
``windflow:client:<client_id>`` on every stream, so every client sees every event, and
the group remembers how far the client got while it is closed. A new stream (a new
aggregate type) gets its group at the client's *join* id, kept in
``windflow:clients:<client_id>:joined``, so nothing published after the client first
started is skipped even for streams it learns about later.

Two tasks run on the asyncio loop: the *reader* (connection supervisor: set-up, pending
recovery, ``XREADGROUP BLOCK``, handlers, ``XACK``; backoff with jitter while Redis is
down) and the *writer* (pipelined ``XADD`` of the in-memory outbox, in order). No call
waits on the network from the caller's point of view: ``publish`` only queues.

A bad entry (anyone with access to Redis can write one) costs only itself: it is refused
before decoding when too big or too deeply nested (``decoding``), acknowledged, counted
(``rejected_count``) and logged without its payload. Should either task die anyway, it
is restarted with backoff (``supervisor``) and the state reads ``STALLED`` meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError

from ..domain.events import Event
from .decoding import RejectedEntry, decode_event
from .dispatch import Deduper, Listeners
from .protocol import BusState
from .redis_streams import (
    DEFAULT_AGGREGATE_TYPES,
    EVENT_FIELD,
    STREAM_PREFIX,
    XADD_MANY,
    group_name,
    stream_items,
    stream_key,
)
from .supervisor import SupervisedTask, backoff_delay

log = logging.getLogger("windflow.bus")

_ZERO_IDS = (b"0-0", "0-0")
_NETWORK_ERRORS = (RedisError, OSError, TimeoutError)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)
# Rejections logged one by one up to this many, then one line per thousand.
_REJECTIONS_LOGGED = 100


class _ReconnectNeeded(Exception):
    """The writer lost the connection; the reader must set everything up again."""


class RedisStreamBus(Listeners):
    """Event bus on Redis Streams with one consumer group per client instance.

    ``client_id`` must be stable for one installation (the app persists it in its data
    folder) and unique among running clients: two running clients with the same id
    would share, not duplicate, the events. ``consumer_name`` names this process in the
    group; keep the default so a restart drains its own pending entries directly.
    Entries left pending by another consumer of the group for ``claim_min_idle_ms`` are
    claimed on start and every ``claim_interval`` s. An entry over ``max_entry_bytes``
    or nesting deeper than ``max_entry_depth`` is acknowledged unread (a deployment log
    batch is the biggest event: 2,000 lines, kept well under the default 8 MiB).
    """

    def __init__(
        self,
        url: str,
        client_id: str,
        *,
        consumer_name: str = "desktop",
        aggregate_types: Iterable[str] = DEFAULT_AGGREGATE_TYPES,
        stream_maxlen: int = 100_000,
        max_queued: int = 100_000,
        dedupe_size: int = 50_000,
        read_count: int = 1000,
        publish_batch: int = 500,
        block_ms: int = 1000,
        command_timeout: float = 2.0,
        connect_timeout: float = 2.0,
        backoff_base: float = 0.1,
        backoff_max: float = 5.0,
        claim_min_idle_ms: int = 60_000,
        claim_interval: float = 30.0,
        discover_interval: float = 5.0,
        yield_every: int = 100,
        close_flush_s: float = 2.0,
        max_entry_bytes: int = 8 * 1024 * 1024,
        max_entry_depth: int = 64,
    ) -> None:
        if not client_id or ":" in client_id:
            raise ValueError("client_id must be non-empty and contain no ':'")
        self.url = url
        self.client_id = client_id
        self.group = group_name(client_id)
        self.consumer = consumer_name
        self._joined_key = f"windflow:clients:{client_id}:joined"
        aggregate_types = tuple(aggregate_types)
        self._streams: list[str] = sorted({stream_key(t) for t in aggregate_types})
        self._new_streams: set[str] = set()
        self._known_types: set[str] = set(aggregate_types)
        self._stream_maxlen = stream_maxlen
        self._max_queued = max(1, max_queued)
        self._read_count = read_count
        self._publish_batch = publish_batch
        self._block_ms = block_ms
        self._command_timeout = command_timeout
        self._connect_timeout = connect_timeout
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._claim_min_idle_ms = claim_min_idle_ms
        self._claim_interval = claim_interval
        self._discover_interval = discover_interval
        self._yield_every = max(1, yield_every)
        self._close_flush_s = close_flush_s
        self._max_entry_bytes = max_entry_bytes
        self._max_entry_depth = max_entry_depth

        super().__init__()
        self._dedupe = Deduper(dedupe_size)
        self._state = BusState.RECONNECTING
        self._joined: str | None = None
        # Outbox items are (sequence number, event); popped only once Redis took them.
        self._outbox: deque[tuple[int, Event]] = deque()
        self._seq = itertools.count(1)
        self._outbox_ready = asyncio.Event()
        self._outbox_empty = asyncio.Event()
        self._outbox_empty.set()
        self._connected = asyncio.Event()
        self._first_attempt = asyncio.Event()
        self._dropped = 0
        self._reader: Redis | None = None
        self._writer: Redis | None = None
        self._xadd_script: Any = None
        self._use_script = True
        self._supervisors = [
            self._supervised("windflow.bus.redis.reader", self._read_loop, reader=True),
            self._supervised("windflow.bus.redis.writer", self._write_loop, reader=False),
        ]
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self.delivered_count = 0
        self.reconnect_count = 0
        self.claimed_count = 0
        self.duplicate_count = 0  # redeliveries dropped by event_id
        self.rejected_count = 0  # entries acknowledged unread: too big, too deep, not events

    # -- public API ---------------------------------------------------------------------

    @property
    def state(self) -> BusState:
        return self._state

    @property
    def dropped_count(self) -> int:
        return self._dropped

    @property
    def queued_count(self) -> int:
        """Events published but not yet taken by Redis."""
        return len(self._outbox)

    @property
    def streams(self) -> Sequence[str]:
        return tuple(self._streams)

    @property
    def restart_count(self) -> int:
        """How many times the reader or the writer died and was started again."""
        return sum(s.restart_count for s in self._supervisors)

    async def start(self) -> None:
        """Connect, set up groups and return; if Redis is down, keep trying in background.

        Returns after the first attempt (at most about ``connect_timeout`` plus
        ``command_timeout``), whatever its outcome; ``state`` tells which.
        """
        if self._closed:
            raise RuntimeError("RedisStreamBus is closed")
        if self._tasks:
            return
        retry = Retry(NoBackoff(), 0)  # we do our own reconnects, with backoff and jitter
        self._reader = Redis.from_url(
            self.url,
            socket_timeout=self._block_ms / 1000 + self._command_timeout,
            socket_connect_timeout=self._connect_timeout,
            retry=retry,
            client_name=f"windflow-{self.client_id}-reader",
        )
        self._writer = Redis.from_url(
            self.url,
            socket_timeout=self._command_timeout,
            socket_connect_timeout=self._connect_timeout,
            retry=retry,
            client_name=f"windflow-{self.client_id}-writer",
        )
        self._xadd_script = self._writer.register_script(XADD_MANY)
        self._tasks = [supervisor.start() for supervisor in self._supervisors]
        await self._first_attempt.wait()

    async def publish(self, event: Event) -> None:
        self._enqueue((event,))

    async def publish_many(self, events: Iterable[Event]) -> None:
        self._enqueue(events)

    async def flush(self) -> None:
        """Wait until Redis took every event published so far (wrap in a timeout)."""
        await self._outbox_empty.wait()

    async def close(self) -> None:
        """Send what is queued if connected (for at most ``close_flush_s``); idempotent.

        Entries read but not yet handled stay pending in the group and are handled on
        the next start.
        """
        if self._closed:
            return
        self._closed = True
        for supervisor in self._supervisors:
            supervisor.halt()  # the loops end as they see ``_closed``: no restarts now
        if self._outbox and self._connected.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox_empty.wait(), self._close_flush_s)
        self._tasks = [task for task in self._tasks if not task.done()]
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=0.5)
            if stuck:
                # redis-py (8.x on Python 3.11) can lose a cancellation that lands while
                # a blocking read is being set up; closing the sockets ends that read,
                # and the loops see ``_closed`` and return.
                await self._disconnect_clients()
                _, stuck = await asyncio.wait(stuck, timeout=self._command_timeout)
                for task in stuck:
                    log.error("bus task %s did not stop", task.get_name())
        self._tasks = []
        await self._disconnect_clients()
        for client in (self._reader, self._writer):
            if client is not None:
                with contextlib.suppress(*_NETWORK_ERRORS):
                    await client.aclose()
        self._reader = self._writer = None
        if self._outbox:
            log.warning("bus closed with %d events not sent to Redis", len(self._outbox))
        self._connected.clear()
        self._set_state(BusState.CLOSED)
        self._state_callbacks.clear()
        self._dropped_callbacks.clear()

    async def _disconnect_clients(self) -> None:
        for client in (self._reader, self._writer):
            if client is not None:
                with contextlib.suppress(*_NETWORK_ERRORS):
                    await client.connection_pool.disconnect()

    # -- publishing ---------------------------------------------------------------------

    def _enqueue(self, events: Iterable[Event]) -> None:
        seq = self._seq
        batch = [(next(seq), event) for event in events]
        if not batch:
            return
        if self._closed:
            log.warning("publish on a closed bus dropped %d events (first %s %s)",
                        len(batch), batch[0][1].event_type, batch[0][1].event_id)
            return
        known = self._known_types
        for aggregate_type in {event.aggregate_type for _, event in batch} - known:
            known.add(aggregate_type)
            self._new_streams.add(stream_key(aggregate_type))
        outbox = self._outbox
        overflow = len(outbox) + len(batch) - self._max_queued
        if overflow > 0:
            lost = [outbox.popleft() for _ in range(min(overflow, len(outbox)))]
            if overflow > len(lost):
                cut = overflow - len(lost)
                lost += batch[:cut]
                batch = batch[cut:]
            before, self._dropped = self._dropped, self._dropped + len(lost)
            if before == 0 or before // 1000 != self._dropped // 1000:
                log.warning(
                    "publish queue full (%d): dropped the %d oldest (first %s %s); "
                    "%d dropped in all", self._max_queued, len(lost),
                    lost[0][1].event_type, lost[0][1].event_id, self._dropped,
                )
            self._dropped_callbacks.emit(self._dropped)
        outbox.extend(batch)
        self._outbox_empty.clear()
        self._outbox_ready.set()

    def _encode(self, event: Event) -> bytes:
        return _ENCODER.encode(event.to_dict()).encode()

    async def _send(self, batch: list[tuple[int, Event]]) -> None:
        """XADD a batch in order: one script call (one command to pack and one reply to
        read instead of one per event: redis-py spends ~20 µs on each), else a pipeline."""
        writer = self._writer
        assert writer is not None
        if self._use_script:
            index: dict[str, int] = {}
            lines = []
            for _, event in batch:
                key = stream_key(event.aggregate_type)
                position = index.setdefault(key, len(index) + 1)
                lines.append(f"{position} {_ENCODER.encode(event.to_dict())}")
            try:
                await self._xadd_script(keys=list(index), client=writer,
                                        args=[self._stream_maxlen, "\n".join(lines)])
                return
            except ResponseError as exc:
                if "NOSCRIPT" in str(exc) or "BUSY" in str(exc):
                    raise
                # Scripting disabled or forbidden (ACL): plain pipelined XADDs from now on.
                log.warning("XADD script refused (%s); using pipelined XADD", exc)
                self._use_script = False
        pipe = writer.pipeline(transaction=False)
        for _, event in batch:
            pipe.xadd(stream_key(event.aggregate_type), {EVENT_FIELD: self._encode(event)},
                      maxlen=self._stream_maxlen, approximate=True)
        await pipe.execute()

    async def _write_loop(self) -> None:
        outbox = self._outbox
        while not self._closed:
            if not outbox:
                self._outbox_ready.clear()
                self._outbox_empty.set()
                await self._outbox_ready.wait()
                continue
            if not self._connected.is_set():
                await self._connected.wait()
                continue
            batch = list(itertools.islice(outbox, 0, self._publish_batch))
            try:
                await self._send(batch)
            except _NETWORK_ERRORS as exc:
                if self._closed:
                    return
                # Part of the batch may have reached Redis: resending it duplicates
                # entries, which readers drop by event_id. Order is kept either way.
                log.warning("publishing to Redis failed (%s); %d events queued",
                            exc, len(outbox))
                self._lost_connection()
                continue
            last_seq = batch[-1][0]
            while outbox and outbox[0][0] <= last_seq:
                outbox.popleft()

    # -- reading ------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        attempt = 0
        while not self._closed:
            try:
                await self._setup()
                attempt = 0
                self._connected.set()
                self._set_state(BusState.CONNECTED)
                self._first_attempt.set()
                await self._recover()
                await self._read_forever()
            except (*_NETWORK_ERRORS, _ReconnectNeeded) as exc:
                if self._closed:
                    return
                self._lost_connection()
                self._first_attempt.set()
                delay = self._backoff(attempt)
                attempt += 1
                self.reconnect_count += 1
                log.warning("Redis unavailable (%s: %s); retry %d in %.2f s",
                            type(exc).__name__, exc, attempt, delay)
                await asyncio.sleep(delay)

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(attempt, self._backoff_base, self._backoff_max)

    def _supervised(self, name: str, run: Any, *, reader: bool) -> SupervisedTask:
        def down() -> None:
            if reader:  # the writer waits for the restarted reader to set things up
                self._connected.clear()
            self._set_state(BusState.STALLED)

        def restarted() -> None:
            self._tasks = [s.task for s in self._supervisors if s.task is not None]
            self._set_state(
                BusState.CONNECTED if self._connected.is_set() else BusState.RECONNECTING
            )

        return SupervisedTask(name, run, backoff=self._backoff, on_down=down,
                              on_restarted=restarted)

    def _lost_connection(self) -> None:
        self._connected.clear()
        if not self._closed:
            self._set_state(BusState.RECONNECTING)

    def _set_state(self, state: BusState) -> None:
        if state is not BusState.CLOSED and any(s.down for s in self._supervisors):
            state = BusState.STALLED  # nothing else is true while a task is dead
        if state is not self._state:
            self._state = state
            log.info("bus state: %s", state)
            self._state_callbacks.emit(state)

    async def _setup(self) -> None:
        reader = self._reader
        assert reader is not None
        await reader.ping()
        await self._ensure_joined()
        found = await self._scan_streams()
        wanted = set(self._streams) | self._new_streams | found
        self._new_streams.clear()
        await self._ensure_groups(sorted(wanted))
        self._streams = sorted(wanted)

    async def _ensure_joined(self) -> None:
        reader = self._reader
        assert reader is not None
        if self._joined is None:
            seconds, micros = await reader.time()
            now_ms = int(seconds) * 1000 + int(micros) // 1000
            await reader.set(self._joined_key, f"{now_ms - 1}-0", nx=True)
            stored = await reader.get(self._joined_key)
            self._joined = _text(stored) if stored else f"{now_ms - 1}-0"
        else:
            # Restores the key if Redis lost its data; our memory is the better record.
            await reader.set(self._joined_key, self._joined, nx=True)

    async def _scan_streams(self) -> set[str]:
        reader = self._reader
        assert reader is not None
        found: set[str] = set()
        async for key in reader.scan_iter(match=f"{STREAM_PREFIX}*", count=500,
                                          _type="stream"):
            found.add(_text(key))
        return found

    async def _ensure_groups(self, keys: Sequence[str]) -> None:
        reader = self._reader
        assert reader is not None and self._joined is not None
        if not keys:
            return
        pipe = reader.pipeline(transaction=False)
        for key in keys:
            pipe.xgroup_create(key, self.group, id=self._joined, mkstream=True)
        results = await pipe.execute(raise_on_error=False)
        for key, result in zip(keys, results, strict=True):
            if isinstance(result, ResponseError) and "BUSYGROUP" not in str(result):
                raise result
            if isinstance(result, Exception) and not isinstance(result, ResponseError):
                raise result
            if result is True:
                log.info("consumer group %s created on %s", self.group, key)

    async def _discover(self) -> None:
        found = await self._scan_streams()
        new = (found | self._new_streams) - set(self._streams)
        self._new_streams.clear()
        if new:
            await self._ensure_groups(sorted(new))
            self._streams = sorted(set(self._streams) | new)

    async def _recover(self) -> None:
        """Handle our own pending entries (ID 0), then claim those of dead consumers."""
        reader = self._reader
        assert reader is not None
        for key in list(self._streams):
            last: bytes | str = "0"
            while True:
                response = await reader.xreadgroup(
                    self.group, self.consumer, {key: last}, count=self._read_count
                )
                entries = [e for _, es in stream_items(response) for e in es]
                if not entries:
                    break
                await self._handle(key, entries)
                last = entries[-1][0]
        await self._claim()

    async def _claim(self) -> None:
        reader = self._reader
        assert reader is not None
        for key in list(self._streams):
            start: bytes | str = "0-0"
            while True:
                result = await reader.xautoclaim(
                    key, self.group, self.consumer, self._claim_min_idle_ms,
                    start_id=start, count=self._read_count,
                )
                start, entries = result[0], result[1]
                if entries:
                    self.claimed_count += len(entries)
                    log.info("claimed %d pending entries of %s from another consumer",
                             len(entries), key)
                    await self._handle(key, entries)
                if start in _ZERO_IDS:
                    break

    async def _read_forever(self) -> None:
        reader = self._reader
        assert reader is not None
        last_discover = last_claim = time.monotonic()
        while not self._closed:
            if not self._connected.is_set():
                raise _ReconnectNeeded("the writer lost its connection")
            now = time.monotonic()
            if self._new_streams or now - last_discover >= self._discover_interval:
                await self._discover()
                last_discover = now
            if now - last_claim >= self._claim_interval:
                await self._claim()
                last_claim = now
            response = await reader.xreadgroup(
                self.group, self.consumer, dict.fromkeys(self._streams, ">"),
                count=self._read_count, block=self._block_ms,
            )
            for key, entries in stream_items(response):
                if entries:
                    await self._handle(_text(key), entries)

    async def _handle(self, key: str, entries: list[Any]) -> None:
        """Run handlers for entries of one stream, in order, then ack them all.

        Each entry is on its own: one that cannot be read (or whose delivery fails
        outside the handlers, which the registry already contains) is counted, logged
        and acknowledged with the rest, so it never comes back.
        """
        ids = []
        since_yield = 0
        for entry_id, fields in entries:
            ids.append(entry_id)
            if not fields:
                continue  # trimmed or deleted while pending
            try:
                event = decode_event(fields.get(EVENT_FIELD), max_bytes=self._max_entry_bytes,
                                     max_depth=self._max_entry_depth)
                if self._dedupe.first_time(event.event_id):
                    await self._handlers.dispatch(event)
                    self.delivered_count += 1
                else:
                    self.duplicate_count += 1
            except RejectedEntry as exc:
                self._rejected(key, entry_id, exc.reason)
            except Exception as exc:
                self._rejected(key, entry_id, f"delivery failed: {type(exc).__name__}",
                               error=exc)
            since_yield += 1
            if since_yield >= self._yield_every:
                since_yield = 0
                await asyncio.sleep(0)  # a burst must not freeze the UI
        if ids:
            assert self._reader is not None
            await self._reader.xack(key, self.group, *ids)

    def _rejected(self, key: str, entry_id: bytes | str, reason: str,
                  error: BaseException | None = None) -> None:
        self.rejected_count += 1
        count = self.rejected_count
        if count <= _REJECTIONS_LOGGED or count % 1000 == 0:
            log.warning("entry %s of %s skipped and acknowledged: %s (%d skipped in all)",
                        _text(entry_id), key, reason, count, exc_info=error)
