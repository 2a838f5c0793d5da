"""``RemoteStats``: a target's live container stats as the server streams them
(``StatsApi`` over HTTP, one JSON line per second)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import httpx

from ..domain.containers import ContainerStats
from ..domain.errors import WindFlowError
from ..domain.identity import Principal
from .client import ServerSession, response_lines
from .decode import decode
from .errors import from_response, from_transport

READ_TIMEOUT_S = 30.0  # a batch comes every second while anything runs


class RemoteStats:
    def __init__(self, session: ServerSession) -> None:
        self.session = session

    async def watch(self, principal: Principal, target_id: uuid.UUID, *,
                    interval_s: float = 1.0, refresh_s: float = 5.0
                    ) -> AsyncIterator[dict[str, ContainerStats]]:
        timeout = httpx.Timeout(15.0, read=READ_TIMEOUT_S)
        try:
            async with self.session.http.stream("GET", f"/targets/{target_id}/stats",
                                                timeout=timeout) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise from_response(response)
                async with response_lines(response) as lines:
                    async for line in lines:
                        if not line.strip():
                            continue
                        raw = json.loads(line)
                        if "error" in raw and "message" in raw:
                            raise WindFlowError(str(raw["message"]), code=str(raw["error"]))
                        batch: dict[str, ContainerStats] = decode(dict[str, ContainerStats], raw)
                        yield batch
        except httpx.TransportError as exc:
            raise from_transport(exc, self.session.url) from exc
