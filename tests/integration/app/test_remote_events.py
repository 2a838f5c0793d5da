"""``RemoteBus``: the server's event stream as the desktop's bus — events reach the
handlers, a server that stops is "reconnecting" with the reason, and one that comes back
is followed again on its own (with a ``client.resync`` when what was missed cannot be
replayed)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.env.services import free_port
from tests.support.server import COMPOSE, PASSWORD, create_owner, running_server
from windflow_desktop.domain.events import CLIENT_RESYNC as RESYNC
from windflow_desktop.domain.events import Event
from windflow_desktop.events.protocol import BusState
from windflow_desktop.remote.client import ServerSession
from windflow_desktop.remote.events import RemoteBus


async def _until(check: object, timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "not in time"
        await asyncio.sleep(0.05)


async def test_events_arrive_and_the_bus_follows_a_server_that_restarts(
        tmp_path: Path) -> None:
    create_owner(tmp_path)
    port = free_port()
    seen: list[Event] = []
    states: list[BusState] = []
    with running_server(tmp_path, port=port) as server:
        session = ServerSession(server.url)
        await session.login("olga", PASSWORD)
        bus = RemoteBus(session, backoff_max_s=0.5)
        bus.subscribe(seen.append)
        bus.on_state_changed(states.append)
        await bus.start()
        await _until(lambda: bus.state is BusState.CONNECTED)
        made_stack = await session.request("POST", "/stacks", json={
            "name": "Live", "compose_yaml": COMPOSE})
        await _until(lambda: any(e.event_type == "stack.created" for e in seen))
        [created] = [e for e in seen if e.event_type == "stack.created"]
        assert created.aggregate_id == made_stack["stack"]["id"]
        stopping = time.monotonic()
    # An open event stream does not hold the server's shutdown up (it is cut after 3 s).
    assert time.monotonic() - stopping < 10
    await _until(lambda: bus.state is BusState.RECONNECTING)
    assert bus.reason
    with running_server(tmp_path, port=port):
        await _until(lambda: bus.state is BusState.CONNECTED)
        await _until(lambda: any(e.event_type == RESYNC for e in seen))
        await session.request("POST", "/stacks", json={"name": "Again",
                                                      "compose_yaml": COMPOSE})
        await _until(lambda: len([e for e in seen if e.event_type == "stack.created"]) == 2)
    assert states[:2] == [BusState.CONNECTED, BusState.RECONNECTING]
    await bus.close()
    await session.close()
