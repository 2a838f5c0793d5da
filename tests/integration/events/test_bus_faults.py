"""``RedisStreamBus`` under faults, against a real ``redis-server`` (issue 4, bars a-d)."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis

from tests.env.redis import RedisServer
from windflow_desktop.domain.events import Event
from windflow_desktop.events import BusState
from windflow_desktop.events.redis_bus import RedisStreamBus
from windflow_desktop.events.redis_streams import group_name, stream_key

pytestmark = pytest.mark.redis

AGGREGATES = ("target", "stack", "deployment")
FAST = {"block_ms": 100, "backoff_base": 0.05, "backoff_max": 0.5, "command_timeout": 1.0,
        "connect_timeout": 0.5}


async def wait_for(condition: Callable[[], bool], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def events(count: int, start: int = 0) -> list[Event]:
    return [
        Event(f"{AGGREGATES[i % 3]}.changed", AGGREGATES[i % 3], f"a{i % 7}", data={"n": i})
        for i in range(start, start + count)
    ]


def assert_exactly_once_in_order(got: list[Event], sent: list[Event]) -> None:
    ids = [e.event_id for e in got]
    assert len(ids) == len(set(ids)), f"{len(ids) - len(set(ids))} duplicates"
    assert set(ids) == {e.event_id for e in sent}
    for aggregate in AGGREGATES:
        assert [e.event_id for e in got if e.aggregate_type == aggregate] == [
            e.event_id for e in sent if e.aggregate_type == aggregate
        ], f"order broken on {aggregate}"


@pytest.fixture
async def buses(redis_server: RedisServer) -> AsyncIterator[Callable[..., RedisStreamBus]]:
    made: list[RedisStreamBus] = []

    def make(client_id: str, **options: Any) -> RedisStreamBus:
        bus = RedisStreamBus(redis_server.url, client_id, **{**FAST, **options})
        made.append(bus)
        return bus

    yield make
    for bus in made:
        await bus.close()


def pending(server: RedisServer, client_id: str) -> int:
    client = server.client()
    try:
        return sum(
            int(client.xpending(stream_key(a), group_name(client_id))["pending"])
            for a in AGGREGATES
        )
    finally:
        client.close()


async def test_a_redis_restart_mid_stream_delivers_each_event_once_in_order(
    redis_server: RedisServer, buses: Callable[..., RedisStreamBus]
) -> None:
    publisher, subscriber = buses("pub"), buses("sub")
    got: list[Event] = []
    subscriber.subscribe(got.append)
    states: list[BusState] = []
    subscriber.on_state_changed(states.append)
    await publisher.start()
    await subscriber.start()
    sent = events(10_000)
    restart: asyncio.Future[None] | None = None
    handled_at_restart = published_at_restart = 0
    for i in range(0, len(sent), 50):
        await publisher.publish_many(sent[i:i + 50])
        await asyncio.sleep(0.002)
        if restart is None and len(got) >= 3_000:
            handled_at_restart, published_at_restart = len(got), i + 50
            restart = asyncio.ensure_future(asyncio.to_thread(redis_server.restart, 0.5))
    assert restart is not None, "the restart must happen while events are in flight"
    await restart
    await wait_for(lambda: len(got) >= len(sent), within=60)
    await wait_for(lambda: pending(redis_server, "sub") == 0)
    assert handled_at_restart < len(sent) and published_at_restart < len(sent)
    assert_exactly_once_in_order(got, sent)
    assert BusState.RECONNECTING in states and subscriber.state is BusState.CONNECTED
    assert publisher.reconnect_count >= 1 and subscriber.reconnect_count >= 1
    assert publisher.dropped_count == 0 and publisher.queued_count == 0
    print(f"restart after {handled_at_restart} handled / {published_at_restart} published;"
          f" redeliveries dropped: {subscriber.duplicate_count}")


_CRASHING_CONSUMER = """
import asyncio, sys, time
from windflow_desktop.events.redis_bus import RedisStreamBus

async def main() -> None:
    bus = RedisStreamBus(sys.argv[1], "crashy", consumer_name="a", block_ms=100)
    def hang(event):
        print("handling", event.event_id, flush=True)
        time.sleep(3600)  # hangs mid-batch, nothing acked, until killed
    bus.subscribe(hang)
    await bus.start()
    print("ready", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_b_entries_left_by_a_killed_consumer_are_reclaimed(
    redis_server: RedisServer, buses: Callable[..., RedisStreamBus]
) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CRASHING_CONSUMER, redis_server.url,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
        assert line.strip() == b"ready", line
        publisher = buses("pub")
        await publisher.start()
        sent = events(300)
        await publisher.publish_many(sent)
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
        assert line.startswith(b"handling"), line
        await wait_for(lambda: pending(redis_server, "crashy") > 0)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
        await proc.wait()
    left_pending = pending(redis_server, "crashy")
    await asyncio.sleep(0.1)  # entries must be idle longer than claim_min_idle_ms

    got: list[Event] = []
    successor = buses("crashy", consumer_name="b", claim_min_idle_ms=50)
    successor.subscribe(got.append)
    await successor.start()
    await wait_for(lambda: len(got) >= len(sent))
    await wait_for(lambda: pending(redis_server, "crashy") == 0)
    assert left_pending > 0
    assert successor.claimed_count == left_pending
    assert_exactly_once_in_order(got, sent)


async def test_c_two_clients_each_receive_every_event(
    buses: Callable[..., RedisStreamBus],
) -> None:
    one, two = buses("one"), buses("two")
    got_one: list[Event] = []
    got_two: list[Event] = []
    one.subscribe(got_one.append)
    two.subscribe(got_two.append)
    await one.start()
    await two.start()
    sent = events(1_000)
    for i, item in enumerate(sent):
        await (one if i % 2 else two).publish(item)
    await wait_for(lambda: len(got_one) >= 1_000 and len(got_two) >= 1_000)
    # Two publishers: each one's order holds, and both clients see one stream order.
    for got in (got_one, got_two):
        assert_exactly_once_in_order([e for e in got if e.data["n"] % 2], sent[1::2])
        assert_exactly_once_in_order([e for e in got if not e.data["n"] % 2], sent[0::2])
    for aggregate in AGGREGATES:
        assert [e.event_id for e in got_one if e.aggregate_type == aggregate] == [
            e.event_id for e in got_two if e.aggregate_type == aggregate
        ]


async def test_d_a_closed_client_receives_what_was_published_meanwhile(
    redis_server: RedisServer, buses: Callable[..., RedisStreamBus]
) -> None:
    publisher = buses("pub")
    await publisher.start()
    await publisher.publish_many(events(10))  # before the client ever ran: not for it
    await publisher.flush()
    first_run = buses("late")
    await first_run.start()
    await first_run.close()

    sent = events(1_000, start=10)
    await publisher.publish_many(sent)
    await publisher.flush()

    got: list[Event] = []
    second_run = buses("late")
    second_run.subscribe(got.append)
    await second_run.start()
    await wait_for(lambda: len(got) >= len(sent))
    await wait_for(lambda: pending(redis_server, "late") == 0)
    assert_exactly_once_in_order(got, sent)


async def test_redis_losing_its_data_recreates_groups_and_keeps_going(
    redis_server: RedisServer, buses: Callable[..., RedisStreamBus]
) -> None:
    bus = buses("solo")
    got: list[Event] = []
    bus.subscribe(got.append)
    await bus.start()
    await bus.publish_many(events(30))
    await wait_for(lambda: len(got) == 30)
    await asyncio.to_thread(redis_server.kill)
    await wait_for(lambda: bus.state is BusState.RECONNECTING)
    later = events(30, start=30)
    await bus.publish_many(later)  # queued while Redis is down
    await asyncio.to_thread(redis_server.start)
    await wait_for(lambda: len(got) == 60)
    assert_exactly_once_in_order(got[30:], later)


async def test_publish_queue_is_bounded_drops_oldest_and_says_so(
    redis_server: RedisServer, buses: Callable[..., RedisStreamBus],
    caplog: pytest.LogCaptureFixture,
) -> None:
    publisher = buses("pub", max_queued=100)
    subscriber = buses("sub")
    got: list[Event] = []
    subscriber.subscribe(got.append)
    drops: list[int] = []
    publisher.on_dropped(drops.append)
    await publisher.start()
    await subscriber.start()
    await asyncio.to_thread(redis_server.stop, True)
    await wait_for(lambda: publisher.state is BusState.RECONNECTING)
    sent = events(150)
    await publisher.publish_many(sent)
    extra = events(1, start=150)[0]
    await publisher.publish(extra)
    assert publisher.dropped_count == 51 and drops == [50, 51]
    assert publisher.queued_count == 100
    assert "publish queue full" in caplog.text
    await asyncio.to_thread(redis_server.start)
    await wait_for(lambda: len(got) >= 100)
    assert_exactly_once_in_order(got, [*sent[51:], extra])


async def test_start_with_redis_down_returns_and_connects_later(
    redis_server: RedisServer, buses: Callable[..., RedisStreamBus]
) -> None:
    await asyncio.to_thread(redis_server.stop)
    bus = buses("early")
    got: list[Event] = []
    bus.subscribe(got.append)
    started = time.monotonic()
    await bus.start()
    assert time.monotonic() - started < 2.0 + 2.0 + 1  # connect + command timeouts
    assert bus.state is BusState.RECONNECTING
    sent = events(20)
    await bus.publish_many(sent)
    await asyncio.to_thread(redis_server.start)
    await wait_for(lambda: bus.state is BusState.CONNECTED)
    await wait_for(lambda: len(got) == 20)
    assert_exactly_once_in_order(got, sent)


def test_fixture_restart_keeps_the_port_and_the_data(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    client.set("k", "v")
    client.close()
    port = redis_server.port
    redis_server.restart()
    client = redis.Redis.from_url(redis_server.url)
    try:
        assert redis_server.port == port and client.get("k") == b"v"
    finally:
        client.close()


# -- poison entries and a dead reader (issue #9, item 6) ------------------------------------

DEEP = 100_000


def raw_xadd(server: RedisServer, aggregate: str, payload: bytes) -> bytes:
    """An entry written straight to the stream, as a careless or hostile producer would."""
    client = server.client()
    try:
        entry_id: bytes = client.xadd(stream_key(aggregate), {"event": payload})
        return entry_id
    finally:
        client.close()


def reader_task() -> asyncio.Task[Any]:
    return next(t for t in asyncio.all_tasks()
                if t.get_name() == "windflow.bus.redis.reader" and not t.done())


async def test_poison_entries_are_acked_counted_and_the_good_ones_still_arrive(
    redis_server: RedisServer, buses: Callable[..., RedisStreamBus],
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = buses("victim", max_entry_bytes=256 * 1024)
    got: list[Event] = []
    bus.subscribe(got.append)
    states: list[BusState] = []
    bus.on_state_changed(states.append)
    await bus.start()
    deep = b"[" * DEEP + b"]" * DEEP
    huge = b'{"pad": "' + b"x" * (256 * 1024) + b'"}'
    # Many brackets but shallow (a big log batch): not poison.
    wide = Event("target.logged", "target", "a1", data={"lines": [[n, "x"] for n in range(5_000)]})
    raw_xadd(redis_server, "target", deep)
    raw_xadd(redis_server, "target", huge)
    raw_xadd(redis_server, "target", json.dumps(wide.to_dict()).encode())
    raw_xadd(redis_server, "target", b'{"event_type": 42')  # cut short
    sent = events(3)
    await bus.publish_many(sent)
    await wait_for(lambda: len(got) == 4)
    await wait_for(lambda: pending(redis_server, "victim") == 0)
    assert {e.event_id for e in got} == {wide.event_id} | {e.event_id for e in sent}
    assert bus.rejected_count == 3
    assert reader_task() is not None and bus.state is BusState.CONNECTED
    assert BusState.STALLED not in states
    assert "nests deeper than" in caplog.text and "bytes, over the" in caplog.text
    assert "x" * 100 not in caplog.text  # the log names the entry, never its payload


async def test_a_poison_entry_left_pending_by_a_crash_does_not_kill_the_next_start(
    redis_server: RedisServer, buses: Callable[..., RedisStreamBus],
) -> None:
    first = buses("crashed")
    await first.start()
    await first.close()
    raw_xadd(redis_server, "stack", b"[" * DEEP + b"]" * DEEP)
    client = redis_server.client()
    try:  # read by the desktop's consumer, never acked: what a dying reader leaves
        client.xreadgroup(group_name("crashed"), "desktop", {stream_key("stack"): ">"})
    finally:
        client.close()
    assert pending(redis_server, "crashed") == 1

    bus = buses("crashed")
    got: list[Event] = []
    bus.subscribe(got.append)
    await bus.start()
    await wait_for(lambda: pending(redis_server, "crashed") == 0)
    sent = events(2)
    await bus.publish_many(sent)
    await wait_for(lambda: len(got) == 2)
    assert bus.rejected_count == 1 and bus.state is BusState.CONNECTED


async def test_a_killed_reader_restarts_and_the_state_says_so_meanwhile(
    buses: Callable[..., RedisStreamBus],
) -> None:
    bus = buses("phoenix", backoff_base=0.3, backoff_max=0.6)
    got: list[Event] = []
    bus.subscribe(got.append)
    states: list[BusState] = []
    bus.on_state_changed(states.append)
    await bus.start()
    first = reader_task()
    while not first.done():  # redis-py can lose a cancel landing in a blocking read
        first.cancel()
        await asyncio.sleep(0.01)
    assert bus.state is BusState.STALLED
    await wait_for(lambda: bus.state is BusState.CONNECTED)
    assert reader_task() is not first and bus.restart_count == 1
    assert states[states.index(BusState.STALLED):] == [
        BusState.STALLED, BusState.RECONNECTING, BusState.CONNECTED]
    sent = events(5)
    await bus.publish_many(sent)
    await wait_for(lambda: len(got) == 5)
    assert_exactly_once_in_order(got, sent)


async def test_a_killed_writer_restarts_and_what_was_queued_goes_out(
    buses: Callable[..., RedisStreamBus],
) -> None:
    bus = buses("scribe", backoff_base=0.3, backoff_max=0.6)
    got: list[Event] = []
    bus.subscribe(got.append)
    await bus.start()
    writer = next(t for t in asyncio.all_tasks()
                  if t.get_name() == "windflow.bus.redis.writer" and not t.done())
    writer.cancel()
    await asyncio.gather(writer, return_exceptions=True)
    await asyncio.sleep(0)  # the supervisor's done callback
    assert bus.state is BusState.STALLED
    sent = events(4)
    await bus.publish_many(sent)  # queued while the writer is down
    await wait_for(lambda: len(got) == 4)
    assert_exactly_once_in_order(got, sent)
    assert bus.state is BusState.CONNECTED and bus.restart_count == 1
