"""The followed container log between the server's SSE writer
(``server/routes/containers._stream``) and ``RemoteContainers.follow_logs``, joined by an
in-memory transport: lines in order, pings while quiet, the end of the output, an engine
failing mid-stream raised as the domain's error on the desktop, a stream cut short said
as such. (The real server and engine: tests/integration/remote/test_remote_containers.py.)
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from windflow_desktop.domain.enums import Role
from windflow_desktop.domain.errors import TargetUnreachableError, WindFlowError
from windflow_desktop.domain.identity import Principal
from windflow_desktop.remote.client import ServerSession
from windflow_desktop.remote.containers import RemoteContainers
from windflow_desktop.remote.errors import ServerUnreachableError
from windflow_desktop.server.routes import containers as route

CALLER = Principal(uuid.uuid4(), uuid.uuid4(), Role.VIEWER)
TARGET = uuid.uuid4()
Lines = Callable[[], AsyncIterator[str]]


def _services(lines: Lines) -> Any:
    def follow_logs(caller: Principal, target_id: uuid.UUID, container_id: str, *,
                    tail: int) -> AsyncIterator[str]:
        assert (caller, target_id, container_id, tail) == (CALLER, TARGET, "web1", 7)
        return lines()

    return SimpleNamespace(containers=SimpleNamespace(follow_logs=follow_logs))


async def _frames(lines: Lines) -> list[str]:
    return [frame async for frame in route._stream(_services(lines), CALLER, TARGET,
                                                   "web1", 7)]


async def _follow(lines: Lines, *, cut_after: int | None = None) -> list[str]:
    """What the desktop reads when the server writes ``lines`` (its first ``cut_after``
    frames only: a connection closed early)."""

    async def body() -> AsyncIterator[bytes]:
        frames = route._stream(_services(lines), CALLER, TARGET, "web1", 7)
        n = 0
        async for frame in frames:
            if cut_after is not None and n == cut_after:
                await frames.aclose()
                return
            n += 1
            yield frame.encode()

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == f"/api/v1/targets/{TARGET}/containers/web1/logs/follow"
        assert request.url.params["tail"] == "7"
        return httpx.Response(200, content=body(),
                              headers={"content-type": "text/event-stream"})

    session = ServerSession("http://server.test", transport=httpx.MockTransport(answer))
    try:
        remote = RemoteContainers(session)
        return [line async for line in remote.follow_logs(CALLER, TARGET, "web1", tail=7)]
    finally:
        await session.close()


async def test_lines_in_order_then_the_end() -> None:
    async def lines() -> AsyncIterator[str]:
        for line in ("one", 'two "quoted"', "", "drei ünïcode", "tab\there"):
            yield line

    frames = await _frames(lines)
    assert frames[-1] == "event: end\ndata: {}\n\n"
    assert await _follow(lines) == ["one", 'two "quoted"', "", "drei ünïcode", "tab\there"]


async def test_a_quiet_log_is_pinged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(route, "PING_S", 0.01)

    async def lines() -> AsyncIterator[str]:
        await asyncio.sleep(0.1)
        yield "late"

    frames = await _frames(lines)
    assert ": ping\n\n" in frames and frames[-2:] == ['event: line\ndata: "late"\n\n',
                                                      "event: end\ndata: {}\n\n"]
    assert await _follow(lines) == ["late"]


async def test_an_engine_failing_mid_stream_is_the_domains_error() -> None:
    async def lines() -> AsyncIterator[str]:
        yield "before"
        raise TargetUnreachableError("the engine went away", code="CONNECTION_DROPPED")

    frames = await _frames(lines)
    assert frames[0] == 'event: line\ndata: "before"\n\n'
    assert frames[-1].startswith('event: error\ndata: {"error": "CONNECTION_DROPPED"')
    with pytest.raises(TargetUnreachableError, match="the engine went away") as failed:
        await _follow(lines)
    assert failed.value.code == "CONNECTION_DROPPED"


async def test_an_unexpected_failure_is_a_server_error_without_details() -> None:
    async def lines() -> AsyncIterator[str]:
        raise RuntimeError("internal detail")
        yield ""  # pragma: no cover

    with pytest.raises(WindFlowError) as failed:
        await _follow(lines)
    assert failed.value.code == "INTERNAL_ERROR" and "internal detail" not in str(failed.value)


async def test_a_stream_cut_short_is_said_so() -> None:
    async def lines() -> AsyncIterator[str]:
        for i in range(10):
            yield f"line {i}"

    with pytest.raises(ServerUnreachableError, match="before it ended"):
        await _follow(lines, cut_after=3)
