"""One contract for every ``EventBus``: ``LocalBus`` and ``RedisStreamBus`` on a real Redis."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from windflow_desktop.domain.events import Event
from windflow_desktop.events import BusState, EventBus, LocalBus

MakeBus = Callable[..., Awaitable[EventBus]]


async def wait_for(condition: Callable[[], bool], within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


def event(aggregate: str = "target", verb: str = "created", n: int = 0, **data: Any) -> Event:
    return Event(f"{aggregate}.{verb}", aggregate, f"{aggregate}-{n}", data={"n": n, **data})


@pytest.fixture(params=["local", pytest.param("redis", marks=pytest.mark.redis)])
async def make_bus(request: pytest.FixtureRequest) -> AsyncIterator[MakeBus]:
    buses: list[EventBus] = []

    async def make(start: bool = True, **options: Any) -> EventBus:
        bus: EventBus
        if request.param == "local":
            bus = LocalBus()
        else:
            from windflow_desktop.events.redis_bus import RedisStreamBus

            url = request.getfixturevalue("redis_url")
            client_id = options.pop("client_id", f"c{uuid.uuid4().hex[:8]}")
            bus = RedisStreamBus(url, client_id, block_ms=200, **options)
        buses.append(bus)
        if start:
            await bus.start()
        return bus

    yield make
    for bus in buses:
        await bus.close()


async def test_published_event_reaches_handler_intact(make_bus: MakeBus) -> None:
    bus = await make_bus()
    got: list[Event] = []
    bus.subscribe(got.append)
    sent = event(data_key="x", nested={"a": [1, 2]})
    await bus.publish(sent)
    await wait_for(lambda: len(got) == 1)
    assert got[0].to_dict() == sent.to_dict()


async def test_order_is_kept_per_stream(make_bus: MakeBus) -> None:
    bus = await make_bus()
    got: list[Event] = []
    bus.subscribe(got.append)
    sent = [event("target" if i % 3 else "stack", n=i) for i in range(600)]
    for item in sent[:300]:
        await bus.publish(item)
    await bus.publish_many(sent[300:])
    await wait_for(lambda: len(got) == len(sent))
    for aggregate in ("target", "stack"):
        assert [e.event_id for e in got if e.aggregate_type == aggregate] == [
            e.event_id for e in sent if e.aggregate_type == aggregate
        ]


async def test_types_filter_and_aggregate_wildcard(make_bus: MakeBus) -> None:
    bus = await make_bus()
    created: list[str] = []
    stacks: list[str] = []
    everything: list[str] = []
    bus.subscribe(lambda e: created.append(e.event_type), types=["target.created"])
    bus.subscribe(lambda e: stacks.append(e.event_type), types=["stack.*"])
    bus.subscribe(lambda e: everything.append(e.event_type))
    await bus.publish_many([
        event("target", "created"), event("target", "deleted"),
        event("stack", "revised"), event("deployment", "finished"),
    ])
    await wait_for(lambda: len(everything) == 4)
    assert created == ["target.created"]
    assert stacks == ["stack.revised"]


async def test_handlers_run_in_order_and_a_failure_stops_none(
    make_bus: MakeBus, caplog: pytest.LogCaptureFixture
) -> None:
    bus = await make_bus()
    calls: list[str] = []

    def first(e: Event) -> None:
        calls.append("first")

    def broken(e: Event) -> None:
        calls.append("broken")
        raise RuntimeError("handler bug")

    async def third(e: Event) -> None:
        await asyncio.sleep(0)
        calls.append("third")

    for handler in (first, broken, third):
        bus.subscribe(handler)
    with caplog.at_level(logging.ERROR, logger="windflow.bus"):
        await bus.publish(event(n=1))
        await bus.publish(event(n=2))
        await wait_for(lambda: len(calls) == 6)
    assert calls == ["first", "broken", "third"] * 2
    assert "handler bug" in caplog.text


async def test_a_handler_raising_cancelled_error_stops_neither_the_others_nor_the_bus(
    make_bus: MakeBus, caplog: pytest.LogCaptureFixture
) -> None:
    bus = await make_bus()
    calls: list[str] = []

    async def awaits_a_cancelled_task(e: Event) -> None:
        calls.append("cancelled")
        doomed = asyncio.ensure_future(asyncio.sleep(3600))
        doomed.cancel()
        await doomed  # CancelledError: not the bus being stopped

    bus.subscribe(awaits_a_cancelled_task)
    bus.subscribe(lambda e: calls.append("after"))
    with caplog.at_level(logging.ERROR, logger="windflow.bus"):
        await bus.publish(event(n=1))
        await bus.publish(event(n=2))
        await wait_for(lambda: len(calls) == 4)
    assert calls == ["cancelled", "after"] * 2
    assert bus.state in (BusState.LOCAL, BusState.CONNECTED)
    assert "awaits_a_cancelled_task" in caplog.text


async def test_async_handlers_are_awaited_one_event_at_a_time(make_bus: MakeBus) -> None:
    bus = await make_bus()
    trace: list[str] = []

    async def slow(e: Event) -> None:
        trace.append(f"start {e.data['n']}")
        await asyncio.sleep(0.01)
        trace.append(f"end {e.data['n']}")

    bus.subscribe(slow)
    await bus.publish_many([event(n=1), event(n=2)])
    await wait_for(lambda: len(trace) == 4)
    assert trace == ["start 1", "end 1", "start 2", "end 2"]


async def test_unsubscribe_is_symmetric_and_idempotent(make_bus: MakeBus) -> None:
    bus = await make_bus()
    kept: list[Event] = []
    dropped: list[Event] = []
    bus.subscribe(kept.append)
    subscription = bus.subscribe(dropped.append)
    await bus.publish(event(n=1))
    await wait_for(lambda: len(kept) == 1 and len(dropped) == 1)
    subscription.cancel()
    subscription.cancel()
    await bus.publish(event(n=2))
    await wait_for(lambda: len(kept) == 2)
    assert len(dropped) == 1


async def test_same_event_id_is_handled_once(make_bus: MakeBus) -> None:
    bus = await make_bus()
    got: list[Event] = []
    bus.subscribe(got.append)
    once = event(n=1)
    await bus.publish_many([once, once, event(n=2), once])
    await wait_for(lambda: len(got) == 2)
    await bus.publish(event(n=3))
    await wait_for(lambda: len(got) == 3)
    assert [e.data["n"] for e in got] == [1, 2, 3]


async def test_publish_before_start_is_delivered_after_start(make_bus: MakeBus) -> None:
    bus = await make_bus(start=False)
    got: list[Event] = []
    bus.subscribe(got.append)
    await bus.publish(event(n=1))
    await bus.start()
    await bus.start()  # idempotent
    await wait_for(lambda: len(got) == 1)


async def test_state_and_idempotent_close(make_bus: MakeBus) -> None:
    bus = await make_bus()
    assert bus.state in (BusState.LOCAL, BusState.CONNECTED)
    assert bus.dropped_count == 0
    states: list[BusState] = []
    bus.on_state_changed(states.append)
    await bus.close()
    await bus.close()
    assert bus.state is BusState.CLOSED
    assert states == [BusState.CLOSED]
    await bus.publish(event())  # logged and dropped, never raises
    with pytest.raises(RuntimeError):
        await bus.start()
