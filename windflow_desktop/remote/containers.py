"""``RemoteContainers``: the containers protocol (``ContainersApi``) over a WindFlow
server — the server reaches the target's engine; the ``principal`` argument is accepted
for the protocol and not sent (the server acts for the token's caller).

A followed log is the server's Server-Sent Events stream
(``GET /targets/{id}/containers/{c}/logs/follow``): ``line`` events carry one line each,
``end`` closes the iterator, ``error`` raises the domain error the server names."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx

from ..domain.containers import ContainerInfo
from ..domain.errors import WindFlowError
from ..domain.identity import Principal
from .client import TIMEOUT, ServerSession, response_lines
from .decode import decode
from .errors import ServerUnreachableError, from_response, from_transport

# The server pings a quiet log every 15 s: three missed pings is a dead line.
FOLLOW_TIMEOUT = httpx.Timeout(TIMEOUT.connect, read=45.0, write=TIMEOUT.write,
                               pool=TIMEOUT.pool)


class RemoteContainers:
    def __init__(self, session: ServerSession) -> None:
        self._session = session

    @staticmethod
    def _path(target_id: uuid.UUID, container_id: str = "", *rest: str) -> str:
        path = f"/targets/{target_id}/containers"
        return "/".join((path, container_id, *rest)) if container_id else path

    async def list_containers(self, principal: Principal,
                              target_id: uuid.UUID) -> list[ContainerInfo]:
        data = await self._session.request("GET", self._path(target_id))
        return decode(list[ContainerInfo], data)

    async def inspect(self, principal: Principal, target_id: uuid.UUID, container_id: str, *,
                      raw: bool = False) -> dict[str, Any]:
        """The engine's description of the container, secret values masked by the server
        (``raw``, for those who may manage containers: as they are)."""
        data: dict[str, Any] = await self._session.request(
            "GET", self._path(target_id, container_id), params={"raw": raw})
        return data

    async def start(self, principal: Principal, target_id: uuid.UUID,
                    container_id: str) -> None:
        await self._session.request("POST", self._path(target_id, container_id, "start"))

    async def stop(self, principal: Principal, target_id: uuid.UUID, container_id: str, *,
                   grace_s: int = 10) -> None:
        await self._session.request("POST", self._path(target_id, container_id, "stop"),
                                    params={"grace_s": grace_s})

    async def restart(self, principal: Principal, target_id: uuid.UUID, container_id: str, *,
                      grace_s: int = 10) -> None:
        await self._session.request("POST", self._path(target_id, container_id, "restart"),
                                    params={"grace_s": grace_s})

    async def remove(self, principal: Principal, target_id: uuid.UUID, container_id: str, *,
                     force: bool = False) -> None:
        await self._session.request("DELETE", self._path(target_id, container_id),
                                    params={"force": force})

    async def logs(self, principal: Principal, target_id: uuid.UUID, container_id: str, *,
                   tail: int = 200) -> list[str]:
        data = await self._session.request("GET", self._path(target_id, container_id, "logs"),
                                           params={"tail": tail})
        return decode(list[str], data["lines"])

    async def follow_logs(self, principal: Principal, target_id: uuid.UUID,
                          container_id: str, *, tail: int = 100) -> AsyncIterator[str]:
        """The container's log lines as the server relays them, until the caller stops
        iterating (or cancels), the container's output ends, or the server reports an
        error (raised as the domain error)."""
        path = self._path(target_id, container_id, "logs", "follow")
        try:
            async with self._session.http.stream(
                    "GET", path, params={"tail": tail}, timeout=FOLLOW_TIMEOUT,
                    headers={"Accept": "text/event-stream"}) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise from_response(response)
                kind, data = "", ""
                async with response_lines(response) as lines:
                    async for line in lines:
                        if line.startswith("event:"):
                            kind = line[6:].strip()
                        elif line.startswith("data:"):
                            data = line[5:].strip()
                        elif not line:  # the end of an event
                            if kind == "line":
                                yield str(json.loads(data))
                            elif kind == "end":
                                return
                            elif kind == "error":
                                raise _stream_error(json.loads(data))
                            kind, data = "", ""
            # Closed without its end: the server went away (a restart, a proxy).
            raise ServerUnreachableError(f"{self._session.url} closed the log of "
                                         f"{container_id[:12]} before it ended: follow it "
                                         "again")
        except httpx.TransportError as exc:
            raise from_transport(exc, self._session.url) from exc


def _stream_error(body: dict[str, Any]) -> WindFlowError:
    """The error an ``error`` event names, as the domain error its status maps to."""
    status = int(body.pop("status", 400))
    return from_response(httpx.Response(status, json=body))


if TYPE_CHECKING:
    from ..services.protocols import ContainersApi

    def _conforms(remote: RemoteContainers) -> ContainersApi:
        return remote
