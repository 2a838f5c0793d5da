"""``RemoteUpdates`` and ``RemoteDrift``: the server checks the registries and the
targets (``UpdatesApi`` and ``DriftApi`` over HTTP)."""

from __future__ import annotations

import uuid

from ..domain.containers import Drift, ImageUpdate
from ..domain.identity import Principal
from ..domain.updates import UpdateSweep
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


class RemoteUpdateSweeps:
    """The server checks on its own schedule; ``latest`` reads its latest round,
    ``sweep`` asks for one now."""

    def __init__(self, session: ServerSession) -> None:
        self.session = session

    async def latest(self, principal: Principal) -> UpdateSweep:
        sweep: UpdateSweep = decode(UpdateSweep, await self.session.request("GET", "/updates"))
        return sweep

    async def sweep(self, principal: Principal) -> UpdateSweep:
        sweep: UpdateSweep = decode(UpdateSweep, await self.session.request(
            "POST", "/updates/check"))
        return sweep


class RemoteDrift:
    def __init__(self, session: ServerSession) -> None:
        self.session = session

    async def check(self, principal: Principal, target_id: uuid.UUID) -> tuple[Drift, ...]:
        answer = await self.session.request("GET", f"/targets/{target_id}/drift")
        lines: tuple[Drift, ...] = decode(tuple[Drift, ...], answer)
        return lines
