"""The deployment job queue: a thin layer on ``redis.asyncio`` over one stream,
``windflow:jobs``, read by one consumer group that every worker shares (each job goes to
one worker) — never the events' per-client groups.

A job is a deployment id. A worker takes it with XREADGROUP, or with XAUTOCLAIM once
another worker's lease expired (the entry sat idle in its pending list longer than
``lease_s``); while it runs, ``renew`` XCLAIMs it to the same worker (the idle time goes
back to zero); ``ack`` ends it; ``hand_back`` makes it claimable at once (SIGTERM);
``bury`` moves it to ``windflow:jobs:dead`` with the reason. The deployment row, not
Redis, says who runs it (its ``attempt`` fencing token): the queue only delivers."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..domain.errors import QueueUnavailableError
from .redis_streams import stream_items

JOBS_STREAM = "windflow:jobs"
DEAD_STREAM = "windflow:jobs:dead"
JOBS_GROUP = "windflow:workers"
WORKERS_KEY = "windflow:workers"  # hash: worker id -> last heartbeat (unix seconds)
IDEMPOTENCY_PREFIX = "windflow:idempotency:"
JOB_FIELD = b"deployment"


@contextlib.asynccontextmanager
async def _reachable() -> AsyncIterator[None]:
    """Redis down or too slow: the API answers 503 with why, not a server error."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        raise QueueUnavailableError(
            f"the job queue cannot be reached ({exc}); try again shortly") from exc


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass
class Job:
    entry_id: str
    deployment_id: uuid.UUID
    deliveries: int  # how many times Redis handed it out, this time included
    reclaimed: bool  # taken from a worker whose lease expired


@dataclass(frozen=True)
class QueueCounts:
    queued: int  # not delivered yet
    running: int  # delivered, not acknowledged
    dead: int


class JobQueue:
    def __init__(self, url: str, *, stream: str = JOBS_STREAM, dead: str = DEAD_STREAM,
                 group: str = JOBS_GROUP, lease_s: float = 30.0) -> None:
        self.stream, self.dead, self.group = stream, dead, group
        self.lease_s = lease_s
        self._redis: Redis = Redis.from_url(url)
        self._ready = False

    @property
    def redis(self) -> Redis:
        return self._redis

    async def close(self) -> None:
        await self._redis.aclose()

    async def _ensure_group(self) -> None:
        if self._ready:
            return
        try:
            await self._redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._ready = True

    # -- producers --------------------------------------------------------------------------

    async def enqueue(self, deployment_id: uuid.UUID) -> str:
        async with _reachable():
            await self._ensure_group()
            entry = await self._redis.xadd(self.stream, {JOB_FIELD: str(deployment_id)})
        return _text(entry)

    async def remember(self, key: str, value: str, ttl_s: int = 86400) -> str | None:
        """Idempotency: store ``value`` under ``key`` unless a value is there; returns the
        earlier value (the request was made before), else None."""
        name = IDEMPOTENCY_PREFIX + key
        async with _reachable():
            if await self._redis.set(name, value, nx=True, ex=ttl_s):
                return None
            old = await self._redis.get(name)
        return _text(old) if old is not None else None

    async def forget(self, key: str) -> None:
        async with _reachable():
            await self._redis.delete(IDEMPOTENCY_PREFIX + key)

    # -- workers ----------------------------------------------------------------------------

    async def take(self, worker: str, block_ms: int = 1000) -> Job | None:
        """The next job: first one whose lease expired, else a new one (waits up to
        ``block_ms``)."""
        await self._ensure_group()
        lease_ms = int(self.lease_s * 1000)
        claimed = await self._redis.xautoclaim(self.stream, self.group, worker,
                                               min_idle_time=lease_ms, start_id="0-0",
                                               count=1)
        entries = claimed[1] if claimed else []
        entries = [e for e in entries if e and e[1]]  # deleted entries come back empty
        if entries:
            return await self._job(entries[0], reclaimed=True)
        response = await self._redis.xreadgroup(self.group, worker, {self.stream: ">"},
                                                count=1, block=block_ms)
        for _key, items in stream_items(response):
            for entry in items:
                return await self._job(entry, reclaimed=False)
        return None

    async def _job(self, entry: Any, *, reclaimed: bool) -> Job:
        entry_id = _text(entry[0])
        fields = {_text(k): _text(v) for k, v in entry[1].items()}
        deliveries = 1  # read with ">": never delivered before (one round trip less)
        if reclaimed:
            pending = await self._redis.xpending_range(self.stream, self.group, min=entry_id,
                                                       max=entry_id, count=1)
            deliveries = int(pending[0]["times_delivered"]) if pending else 1
        return Job(entry_id, uuid.UUID(fields[JOB_FIELD.decode()]), deliveries, reclaimed)

    async def renew(self, job: Job, worker: str) -> bool:
        """Renew the lease: XCLAIM the job to ``worker`` itself (idle time back to zero,
        no new delivery counted). False when it is no longer pending (acked elsewhere)."""
        got = await self._redis.xclaim(self.stream, self.group, worker, min_idle_time=0,
                                       message_ids=[job.entry_id], justid=True)
        return bool(got)

    async def ack(self, job: Job) -> None:
        await self._redis.xack(self.stream, self.group, job.entry_id)

    async def hand_back(self, job: Job, worker: str) -> None:
        """Let another worker take it at once: its idle time is set past the lease."""
        await self._redis.xclaim(self.stream, self.group, worker, min_idle_time=0,
                                 message_ids=[job.entry_id], justid=True,
                                 idle=int(self.lease_s * 1000) + 1)

    async def bury(self, job: Job, reason: str) -> str:
        """Move the job to the dead-letter stream with ``reason``; acknowledged."""
        entry = await self._redis.xadd(self.dead, {
            JOB_FIELD: str(job.deployment_id), b"reason": reason,
            b"deliveries": str(job.deliveries), b"job": job.entry_id})
        await self.ack(job)
        return _text(entry)

    async def dead_jobs(self, count: int = 100) -> list[tuple[str, dict[str, str]]]:
        entries: Any = await self._redis.xrevrange(self.dead, count=count)
        return [(_text(i), {_text(k): _text(v) for k, v in f.items()}) for i, f in entries]

    async def dead_job(self, dead_id: str) -> uuid.UUID | None:
        """The deployment of a dead-lettered job, or None."""
        try:
            entries: Any = await self._redis.xrange(self.dead, min=dead_id, max=dead_id)
        except ResponseError:  # not a stream id
            return None
        if not entries:
            return None
        fields = {_text(k): _text(v) for k, v in entries[0][1].items()}
        return uuid.UUID(fields[JOB_FIELD.decode()])

    async def drop_dead(self, dead_id: str) -> None:
        await self._redis.xdel(self.dead, dead_id)

    async def beat(self, worker: str) -> None:
        await self._redis.hset(WORKERS_KEY, worker, f"{time.time():.3f}")

    async def leave(self, worker: str) -> None:
        await self._redis.hdel(WORKERS_KEY, worker)

    async def workers(self) -> dict[str, float]:
        raw = await self._redis.hgetall(WORKERS_KEY)
        return {_text(k): float(_text(v)) for k, v in raw.items()}

    async def counts(self) -> QueueCounts:
        await self._ensure_group()
        groups = await self._redis.xinfo_groups(self.stream)
        mine = next((g for g in groups if _text(g["name"]) == self.group), None)
        queued = int(mine.get("lag") or 0) if mine else 0
        running = int(mine["pending"]) if mine else 0
        return QueueCounts(queued, running, int(await self._redis.xlen(self.dead)))
