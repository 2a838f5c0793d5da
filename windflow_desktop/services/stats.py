"""``StatsService``: the live CPU, memory, network and block I/O of a target's running
containers, one batch a second, for as long as the caller keeps reading.

Watching needs ``targets:read`` (checked once, in a unit of work, before the engine is
reached; no transaction is held while the streams run). One watch holds one Docker client
on the target's engine and one stats stream per running container (see
``engine/stats.py`` for why that is the cheapest the Engine API allows); stopping the
iteration (cancelling the consuming task, or ``aclose()``) closes every stream and the
client.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

from ..domain.containers import ContainerStats
from ..domain.identity import Principal
from ..domain.permissions import TARGETS_READ
from ..engine.pool import ExecutorPool
from ..engine.stats import StatsWatch
from .common import ServiceContext


class StatsService:
    """Public API: ``watch(p, target_id, interval_s=1.0, refresh_s=5.0) ->
    AsyncIterator[dict[str, ContainerStats]]`` — the containers with a new sample, by
    id, once per ``interval_s``; new containers join within ``refresh_s``."""

    def __init__(self, context: ServiceContext, pool: ExecutorPool) -> None:
        self.ctx = context
        self.pool = pool

    async def watch(self, principal: Principal, target_id: uuid.UUID, *,
                    interval_s: float = 1.0, refresh_s: float = 5.0
                    ) -> AsyncIterator[dict[str, ContainerStats]]:
        async with self.ctx.authorized(principal, TARGETS_READ) as scope:
            target = await scope.target(target_id)
        async with self.pool.docker(target) as api:
            batches = StatsWatch(api, interval_s=interval_s, refresh_s=refresh_s).batches()
            async with contextlib.aclosing(batches):
                async for batch in batches:
                    yield batch
