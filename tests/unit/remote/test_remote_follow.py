"""``RemoteDeployments.follow_logs`` alone, over a scripted transport: a stream cut in the
middle (or ended without its ``end``) is resumed after the last seq seen, so each line
arrives once and in order; an ``error`` line is the domain's error; a server that stays
away ends the follow with ``ServerUnreachableError``."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from windflow_desktop.domain.errors import PermissionDeniedError
from windflow_desktop.domain.identity import Principal
from windflow_desktop.remote import deployments as remote_deployments
from windflow_desktop.remote.client import ServerSession
from windflow_desktop.remote.deployments import RemoteDeployments
from windflow_desktop.remote.errors import ServerUnreachableError

DEP = uuid.uuid4()
NOBODY = Principal(uuid.uuid4(), uuid.uuid4(), None)


def _log(seq: int) -> dict[str, Any]:
    return {"type": "log", "seq": seq, "ts": "2026-12-05T10:00:00+00:00",
            "stream": "stdout", "line": f"line {seq}"}


def _body(items: list[dict[str, Any]], cut: bool) -> AsyncIterator[bytes]:
    async def chunks() -> AsyncIterator[bytes]:
        for item in items:
            yield (json.dumps(item) + "\n").encode()
        if cut:
            raise httpx.RemoteProtocolError("peer closed connection")
    return chunks()


def _remote(handler: Callable[[httpx.Request], httpx.Response]) -> RemoteDeployments:
    session = ServerSession("http://server.test", transport=httpx.MockTransport(handler))
    return RemoteDeployments(session)


async def test_a_cut_stream_resumes_after_the_last_line_seen() -> None:
    asked: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == f"/api/v1/deployments/{DEP}/logs/follow"
        after = request.url.params.get("after_seq")
        asked.append(after)
        if len(asked) == 1:  # two lines, then the connection drops
            return httpx.Response(200, content=_body([_log(1), _log(2)], cut=True))
        if len(asked) == 2:  # a ping, a line, then the stream ends without "end"
            return httpx.Response(200, content=_body([{"type": "ping"}, _log(3)], cut=False))
        # The server sends one seen line again: it is not given twice.
        return httpx.Response(200, content=_body(
            [_log(3), _log(4), {"type": "end", "status": "succeeded", "error": None}],
            cut=False))

    remote = _remote(handler)
    lines = [line async for line in remote.follow_logs(NOBODY, DEP)]
    assert [(x.seq, x.line, x.deployment_id) for x in lines] == \
        [(n, f"line {n}", DEP) for n in (1, 2, 3, 4)]
    assert asked == ["0", "2", "3"]


async def test_an_error_line_is_the_domains_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=_body([_log(1), {
            "type": "error", "status": 403, "error": "PERMISSION_DENIED",
            "message": "you may no longer read this", "details": {}}], cut=False))

    remote = _remote(handler)
    seen = []
    with pytest.raises(PermissionDeniedError, match="no longer read"):
        async for line in remote.follow_logs(NOBODY, DEP):
            seen.append(line.seq)
    assert seen == [1]


async def test_a_server_that_stays_away_ends_the_follow(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote_deployments, "FOLLOW_RESUME_S", 0.5)
    tries = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal tries
        tries += 1
        raise httpx.ConnectError("connection refused")

    remote = _remote(handler)
    with pytest.raises(ServerUnreachableError, match="cannot reach"):
        [line async for line in remote.follow_logs(NOBODY, DEP, after_seq=7)]
    assert tries >= 3  # it tried again before giving up
