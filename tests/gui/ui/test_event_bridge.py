"""``EventBridge``: bus events reach Qt in few batches, from the qasync loop or any thread."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
import qasync
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from windflow_desktop.domain.events import Event
from windflow_desktop.events import BusState, LocalBus
from windflow_desktop.events.dispatch import CallbackList, HandlerRegistry
from windflow_desktop.events.protocol import EventHandler
from windflow_desktop.stores.event_bridge import EventBridge

pytestmark = pytest.mark.gui


@pytest.fixture
def bridge_loop(qapp: QApplication) -> Iterator[Callable[[Coroutine[Any, Any, Any]], Any]]:
    """Run coroutines on a qasync loop driven by Qt events (see STYLE.md, Tests)."""
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)

    def spin(done: Callable[[], bool], within: float) -> None:
        deadline = time.monotonic() + within
        while not done():
            assert time.monotonic() < deadline, "not done in time"
            qapp.processEvents()
            time.sleep(0.001)

    def run(coro: Coroutine[Any, Any, Any], within: float = 20.0) -> Any:
        task = loop.create_task(coro)
        spin(task.done, within)
        return task.result()

    try:
        yield run
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        spin(lambda: all(t.done() for t in pending), 10.0)
        loop._QEventLoop__is_running = False  # type: ignore[attr-defined]  # no app.exit()
        qapp.aboutToQuit.disconnect(loop._after_run_forever)
        asyncio.events._set_running_loop(None)
        loop.close()
        asyncio.set_event_loop(None)


def burst(count: int) -> list[Event]:
    return [Event("deployment.log", "deployment", "d1", data={"n": i}) for i in range(count)]


def test_a_burst_of_20000_events_arrives_in_a_few_batches(
    qtbot: Any, bridge_loop: Callable[..., Any]
) -> None:
    bus = LocalBus()
    bridge = EventBridge(bus)
    batches: list[list[Event]] = []
    stamps: list[float] = []

    def received(batch: list[Event]) -> None:
        batches.append(batch)
        stamps.append(time.monotonic())

    bridge.sig_events_received.connect(received)
    bridge_loop(bus.start())
    bridge_loop(bus.publish_many(burst(20_000)))
    qtbot.waitUntil(lambda: sum(map(len, batches)) == 20_000, timeout=10_000)
    assert [e.data["n"] for batch in batches for e in batch] == list(range(20_000))
    assert len(batches) <= 40, f"{len(batches)} batches"  # ~5 on an idle machine
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert all(gap >= 0.015 for gap in gaps), gaps  # at most one batch per ~16 ms frame
    bridge.close()
    bridge_loop(bus.close())


def test_a_lone_event_is_delivered_without_waiting_a_frame(
    qtbot: Any, bridge_loop: Callable[..., Any]
) -> None:
    bus = LocalBus()
    bridge = EventBridge(bus, types=["target.*"])
    got: list[Event] = []
    bridge.sig_events_received.connect(got.extend)
    bridge_loop(bus.start())
    bridge_loop(bus.publish(Event("stack.revised", "stack", "s")))
    bridge_loop(bus.publish(Event("target.created", "target", "t")))
    qtbot.waitUntil(lambda: len(got) == 1, timeout=1_000)
    assert got[0].event_type == "target.created"
    bridge.close()
    bridge_loop(bus.close())


class ThreadedBus:
    """Test double for one class's unit test: calls handlers from threads it is given."""

    def __init__(self) -> None:
        self.handlers = HandlerRegistry()
        self.states: CallbackList[BusState] = CallbackList()
        self.drops: CallbackList[int] = CallbackList()
        self.state = BusState.CONNECTED
        self.dropped_count = 0

    def subscribe(self, handler: EventHandler, types: Any = None) -> Any:
        self.captured = handler
        return self.handlers.add(handler, types)

    def on_state_changed(self, callback: Callable[[BusState], None]) -> Any:
        return self.states.add(callback)

    def on_dropped(self, callback: Callable[[int], None]) -> Any:
        return self.drops.add(callback)


def test_events_and_state_from_other_threads_arrive_on_the_qt_thread(qtbot: Any) -> None:
    bus = ThreadedBus()
    bridge = EventBridge(bus)  # type: ignore[arg-type]
    got: list[Event] = []
    threads_seen: set[bool] = set()
    states: list[str] = []
    drops: list[int] = []
    main = QThread.currentThread()

    def received(batch: list[Event]) -> None:
        threads_seen.add(QThread.currentThread() == main)
        got.extend(batch)

    bridge.sig_events_received.connect(received)
    bridge.sig_bus_state_changed.connect(states.append)
    bridge.sig_events_dropped.connect(drops.append)

    def produce(worker: int) -> None:
        for i in range(1_000):
            bus.captured(Event("target.pinged", "target", f"w{worker}", data={"i": i}))
        bus.states.emit(BusState.RECONNECTING)
        bus.drops.emit(worker + 1)

    workers = [threading.Thread(target=produce, args=(w,)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    qtbot.waitUntil(lambda: len(got) == 4_000 and len(states) == 4 and len(drops) == 4,
                    timeout=5_000)
    assert threads_seen == {True}
    for w in range(4):
        assert [e.data["i"] for e in got if e.aggregate_id == f"w{w}"] == list(range(1_000))
    assert states == ["reconnecting"] * 4 and sorted(drops) == [1, 2, 3, 4]
    bridge.close()


def test_close_is_idempotent_and_unsubscribes(
    qtbot: Any, bridge_loop: Callable[..., Any]
) -> None:
    bus = LocalBus()
    bridge = EventBridge(bus)
    states: list[str] = []
    got: list[Event] = []
    bridge.sig_bus_state_changed.connect(states.append)
    bridge.sig_events_received.connect(got.extend)
    assert bridge.state is BusState.LOCAL
    bridge_loop(bus.start())
    bridge.close()
    bridge.close()
    assert len(bus._handlers) == 0
    bridge_loop(bus.publish(Event("target.created", "target", "t")))
    bridge_loop(bus.wait_idle())
    qtbot.wait(40)
    assert got == [] and states == []
    bridge_loop(bus.close())


@pytest.mark.redis
def test_redis_bus_on_the_qasync_loop_feeds_the_bridge(
    qtbot: Any, bridge_loop: Callable[..., Any], redis_url: str
) -> None:
    from windflow_desktop.events.redis_bus import RedisStreamBus

    bus = RedisStreamBus(redis_url, "gui", block_ms=100)
    bridge = EventBridge(bus)
    got: list[Event] = []
    states: list[str] = []
    bridge.sig_events_received.connect(got.extend)
    bridge.sig_bus_state_changed.connect(states.append)
    bridge_loop(bus.start())
    assert bridge.state is BusState.CONNECTED
    bridge_loop(bus.publish_many(burst(2_000)))
    qtbot.waitUntil(lambda: len(got) == 2_000, timeout=10_000)
    assert [e.data["n"] for e in got] == list(range(2_000))
    bridge_loop(bus.close())
    qtbot.waitUntil(lambda: states == ["connected", "closed"], timeout=1_000)
    bridge.close()


def test_the_status_bar_shows_a_dead_dispatcher_until_it_is_back(
    qtbot: Any, bridge_loop: Callable[..., Any], tmp_path: Any
) -> None:
    from PySide6.QtCore import QSettings

    from windflow_desktop.ui.main_window import MainWindow

    window = MainWindow(QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    bus = LocalBus(restart_backoff_s=0.4)
    bridge = EventBridge(bus)
    bridge.sig_bus_state_changed.connect(window.set_bus_state)
    window.set_bus_state(str(bridge.state))
    bridge_loop(bus.start())
    live = window.bus_label.text()
    assert live == "● Live (this computer)"
    shown: list[str] = []
    bridge.sig_bus_state_changed.connect(lambda _s: shown.append(window.bus_label.text()))
    dispatcher = next(t for t in asyncio.all_tasks(asyncio.get_event_loop())
                      if t.get_name() == "windflow.bus.local")
    dispatcher.cancel()
    qtbot.waitUntil(lambda: len(shown) == 2, timeout=5_000)
    assert "stopped" in shown[0] and "restarting" in shown[0]
    assert shown[1] == live == window.bus_label.text()
    assert "restarting" not in window.bus_label.toolTip()
    bridge.close()
    bridge_loop(bus.close())
