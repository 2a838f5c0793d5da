"""``LocalWorkers``: the job queue's report over the deployments service of this
process (``WorkersApi``). On a desktop's own workspace there is no queue: deployments run
in the app, so ``available`` is False and the Workers page is not offered."""

from __future__ import annotations

from typing import Any

from ..domain.identity import Principal
from ..domain.workers import WorkersReport


class LocalWorkers:
    def __init__(self, deployments: Any) -> None:
        self._deployments = deployments

    @property
    def available(self) -> bool:
        return self._deployments.queue is not None

    async def report(self, principal: Principal) -> WorkersReport:
        return WorkersReport.from_plain(await self._deployments.workers(principal))

    async def retry(self, principal: Principal, dead_id: str) -> None:
        await self._deployments.retry_dead(principal, dead_id)
