"""The job queue's report on a WindFlow server (Settings → Workers): the workers alive
with their last heartbeat, the jobs queued / running / dead, and the retry of a dead job
(``/workers``, ``deployments:manage``). ``principal`` is accepted and not sent."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from ..domain.identity import Principal
from ..domain.workers import WorkersReport
from .client import ServerSession


class RemoteWorkers:
    """``WorkersApi`` over ``/workers``."""

    available = True

    def __init__(self, session: ServerSession) -> None:
        self._session = session

    async def report(self, principal: Principal) -> WorkersReport:
        return WorkersReport.from_plain(await self._session.request("GET", "/workers"))

    async def retry(self, principal: Principal, dead_id: str) -> None:
        await self._session.request("POST", f"/workers/dead/{quote(dead_id, safe='')}/retry")


if TYPE_CHECKING:
    from ..services.protocols import WorkersApi

    _remote: type[WorkersApi] = RemoteWorkers
