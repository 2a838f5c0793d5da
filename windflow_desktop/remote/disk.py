"""``RemoteDisk``: a target's images, volumes and networks through the server
(``DiskApi`` over HTTP)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..domain.containers import DiskKind, DiskUsage, PrunePlan, PruneResult
from ..domain.identity import Principal
from .client import ServerSession
from .decode import decode


class RemoteDisk:
    def __init__(self, session: ServerSession) -> None:
        self.session = session

    async def usage(self, principal: Principal, target_id: uuid.UUID) -> DiskUsage:
        found: DiskUsage = decode(DiskUsage, await self.session.request(
            "GET", f"/targets/{target_id}/disk"))
        return found

    async def remove(self, principal: Principal, target_id: uuid.UUID, kind: DiskKind,
                     ref: str, *, force: bool = False) -> None:
        await self.session.request(
            "DELETE", f"/targets/{target_id}/disk/{kind.value}/{quote(ref, safe='')}",
            params={"force": force})

    async def prune_preview(self, principal: Principal, target_id: uuid.UUID,
                            kind: DiskKind) -> PrunePlan:
        plan: PrunePlan = decode(PrunePlan, await self.session.request(
            "GET", f"/targets/{target_id}/disk/prune/{kind.value}"))
        return plan

    async def prune(self, principal: Principal, target_id: uuid.UUID,
                    kind: DiskKind) -> PruneResult:
        result: PruneResult = decode(PruneResult, await self.session.request(
            "POST", f"/targets/{target_id}/disk/prune/{kind.value}"))
        return result


if TYPE_CHECKING:
    from ..services.protocols import DiskApi

    _check: type[DiskApi] = RemoteDisk
