"""What the deployments service needs of a job queue (server mode: Redis Streams, see
``events.redis_jobs``), and the memory of idempotent deploy requests."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any, Protocol


class JobDispatch(Protocol):
    async def enqueue(self, deployment_id: uuid.UUID) -> str: ...
    async def remember(self, key: str, value: str, ttl_s: int = 86400) -> str | None: ...
    async def forget(self, key: str) -> None: ...
    async def workers(self) -> dict[str, float]: ...
    async def counts(self) -> Any: ...
    async def dead_jobs(self, count: int = 100) -> list[tuple[str, dict[str, str]]]: ...
    async def dead_job(self, dead_id: str) -> uuid.UUID | None: ...
    async def drop_dead(self, dead_id: str) -> None: ...


CREATING = "creating"
WAIT_S = 30.0


class IdempotentRequests:
    """``begin(key)``: None for the first request with ``key`` (it goes on and calls
    ``done`` or ``abandon``), else the deployment ids the first one made (waiting while it
    is still making them). Kept in Redis with a queue (every API process sees it), else in
    this process."""

    def __init__(self, store: JobDispatch | None = None, ttl_s: int = 86400) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._local: dict[str, tuple[float, str]] = {}

    async def _remember(self, key: str, value: str) -> str | None:
        if self._store is not None:
            return await self._store.remember(key, value, self._ttl_s)
        now = time.monotonic()
        old = self._local.get(key)
        if old is not None and old[0] > now:
            return old[1]
        self._local[key] = (now + self._ttl_s, value)
        return None

    async def _set(self, key: str, value: str) -> None:
        if self._store is not None:
            await self._store.forget(key)
            await self._store.remember(key, value, self._ttl_s)
        else:
            self._local[key] = (time.monotonic() + self._ttl_s, value)

    async def begin(self, key: str) -> list[uuid.UUID] | None:
        deadline = time.monotonic() + WAIT_S
        while True:
            earlier = await self._remember(key, CREATING)
            if earlier is None:
                return None
            if earlier != CREATING:
                return [uuid.UUID(i) for i in json.loads(earlier)]
            if time.monotonic() > deadline:
                from ...domain.errors import ConflictError
                raise ConflictError("a request with this Idempotency-Key is still running")
            await asyncio.sleep(0.05)

    async def done(self, key: str, ids: list[uuid.UUID]) -> None:
        await self._set(key, json.dumps([str(i) for i in ids]))

    async def abandon(self, key: str) -> None:
        if self._store is not None:
            await self._store.forget(key)
        else:
            self._local.pop(key, None)


class WorkerQueue(Protocol):
    """What a worker needs of its queue: Redis Streams (``events.redis_jobs.JobQueue``)
    or the deployment rows (``embedded_jobs.RowJobs``, ``windflow serve`` alone)."""

    lease_s: float

    async def take(self, worker: str, block_ms: int = 1000) -> Any: ...
    async def renew(self, job: Any, worker: str) -> bool: ...
    async def ack(self, job: Any) -> None: ...
    async def hand_back(self, job: Any, worker: str) -> None: ...
    async def bury(self, job: Any, reason: str) -> str: ...
    async def beat(self, worker: str) -> None: ...
    async def leave(self, worker: str) -> None: ...
