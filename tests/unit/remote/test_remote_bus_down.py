"""``RemoteBus`` whose server is away: the first failure is told to the state listeners
(the actions wait for the server from then on) even though the stream was already
"reconnecting" before its first answer, with the reason in words."""

from __future__ import annotations

import asyncio

from tests.env.services import free_port
from windflow_desktop.events import BusState
from windflow_desktop.remote.client import ServerSession
from windflow_desktop.remote.events import RemoteBus


async def test_a_server_that_never_answered_is_said_down() -> None:
    session = ServerSession(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    bus = RemoteBus(session, backoff_s=0.05, backoff_max_s=0.1)
    told: list[tuple[BusState, str]] = []
    bus.on_state_changed(lambda state: told.append((state, bus.reason)))
    assert (bus.state, bus.reason) == (BusState.RECONNECTING, "connecting")
    await bus.start()
    try:
        async with asyncio.timeout(10):
            while not told:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)  # more failures: not news
    finally:
        await bus.close()
        await session.close()
    assert told[0] == (BusState.RECONNECTING, "it refuses connections: is it running?")
    assert told[1:] == [(BusState.CLOSED, "closed")]
