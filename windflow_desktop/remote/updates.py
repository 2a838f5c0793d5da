"""``RemoteUpdates``: the server checks the registries (``UpdatesApi`` over HTTP)."""

from __future__ import annotations

import uuid

from ..domain.containers import ImageUpdate
from ..domain.identity import Principal
from .client import ServerSession
from .decode import decode


class RemoteUpdates:
    def __init__(self, session: ServerSession) -> None:
        self.session = session

    async def check(self, principal: Principal,
                    target_id: uuid.UUID) -> tuple[ImageUpdate, ...]:
        answer = await self.session.request("GET", f"/targets/{target_id}/updates")
        lines: tuple[ImageUpdate, ...] = decode(tuple[ImageUpdate, ...], answer)
        return lines
