"""``LocalBus`` specifics beyond the shared contract, and the shared dispatch pieces."""

from __future__ import annotations

import asyncio

import pytest

from windflow_desktop.domain.events import Event
from windflow_desktop.events import BusState, LocalBus, create_bus
from windflow_desktop.events.dispatch import Deduper, HandlerRegistry


def event(n: int = 0, event_type: str = "target.created") -> Event:
    return Event(event_type, event_type.split(".")[0], f"id-{n}", data={"n": n})


async def test_burst_is_delivered_in_order_and_yields_to_the_loop() -> None:
    bus = LocalBus(yield_every=100)
    got: list[int] = []
    bus.subscribe(lambda e: got.append(e.data["n"]))
    await bus.start()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    tick_task = asyncio.create_task(ticker())
    await bus.publish_many(event(n) for n in range(5_000))
    await bus.wait_idle()
    tick_task.cancel()
    assert got == list(range(5_000))
    assert ticks >= 5_000 // 100 - 1  # the loop ran between chunks
    await bus.close()


async def test_close_delivers_what_is_queued_then_stops() -> None:
    bus = LocalBus()
    got: list[Event] = []
    bus.subscribe(got.append)
    await bus.start()
    await bus.publish_many([event(1), event(2)])
    await bus.close()
    assert [e.data["n"] for e in got] == [1, 2]
    assert bus.state is BusState.CLOSED


async def test_close_of_a_never_started_bus_is_fine() -> None:
    bus = LocalBus()
    await bus.close()
    await bus.close()
    assert bus.state is BusState.CLOSED


async def test_handler_may_subscribe_and_unsubscribe_while_dispatching() -> None:
    bus = LocalBus()
    await bus.start()
    late: list[Event] = []
    calls: list[int] = []

    def first(e: Event) -> None:
        calls.append(e.data["n"])
        if e.data["n"] == 1:
            bus.subscribe(late.append)
            subscription.cancel()

    subscription = bus.subscribe(first)
    await bus.publish_many([event(1), event(2)])
    await bus.wait_idle()
    assert calls == [1]
    assert [e.data["n"] for e in late] == [2]
    await bus.close()


async def test_state_callbacks_and_failing_callback_is_contained(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = LocalBus()
    seen: list[BusState] = []

    def broken(state: BusState) -> None:
        raise RuntimeError("callback bug")

    bus.on_state_changed(broken)
    bus.on_state_changed(seen.append)
    await bus.start()
    assert bus.state is BusState.LOCAL and bus.dropped_count == 0
    await bus.close()
    assert seen == [BusState.CLOSED]
    assert "callback bug" in caplog.text


def test_factory_gives_local_bus_without_redis_url() -> None:
    assert isinstance(create_bus(None, "client"), LocalBus)
    assert isinstance(create_bus("", "client"), LocalBus)


def test_factory_gives_redis_bus_with_url() -> None:
    from windflow_desktop.events.redis_bus import RedisStreamBus

    bus = create_bus("redis://127.0.0.1:1/0", "client", block_ms=50)
    assert isinstance(bus, RedisStreamBus) and bus.group == "windflow:client:client"
    with pytest.raises(ValueError):
        create_bus("redis://127.0.0.1:1/0", "bad:id")


def test_deduper_is_a_bounded_lru() -> None:
    dedupe = Deduper(size=3)
    assert [dedupe.first_time(x) for x in "abca"] == [True, True, True, False]
    assert dedupe.first_time("d")  # evicts the least recently seen: "b"
    assert len(dedupe) == 3
    assert dedupe.first_time("b")
    assert not dedupe.first_time("a")


async def test_registry_filters_by_type_and_aggregate_wildcard() -> None:
    registry = HandlerRegistry()
    got: list[str] = []
    registry.add(lambda e: got.append("exact"), ["target.created"])
    registry.add(lambda e: got.append("wild"), ["deployment.*"])
    for event_type in ("target.created", "target.deleted", "deployment.finished"):
        await registry.dispatch(event(event_type=event_type))
    assert got == ["exact", "wild"]


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    from windflow_desktop.events.redis_bus import RedisStreamBus

    bus = RedisStreamBus("redis://127.0.0.1:1/0", "c", backoff_base=0.1, backoff_max=2.0)
    first = [bus._backoff(0) for _ in range(50)]
    assert all(0.05 <= d <= 0.1 for d in first) and len(set(first)) > 1
    assert all(1.0 <= bus._backoff(10) <= 2.0 for _ in range(50))


def dispatcher() -> asyncio.Task[None]:
    return next(t for t in asyncio.all_tasks()
                if t.get_name() == "windflow.bus.local" and not t.done())


async def test_a_killed_dispatcher_restarts_and_the_state_says_so_meanwhile() -> None:
    bus = LocalBus()
    got: list[int] = []
    bus.subscribe(lambda e: got.append(e.data["n"]))
    states: list[BusState] = []
    bus.on_state_changed(states.append)
    await bus.start()
    first = dispatcher()
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    await bus.publish_many([event(1), event(2)])  # queued while it is down
    assert bus.state is BusState.STALLED and got == []
    await asyncio.wait_for(bus.wait_idle(), 5)
    assert got == [1, 2] and dispatcher() is not first and bus.restart_count == 1
    assert states == [BusState.STALLED, BusState.LOCAL]
    await bus.close()
    assert states[-1] is BusState.CLOSED
