"""The job queue of ``windflow serve`` alone (no Redis): the deployment rows are the queue.

A pending row nobody claimed is a queued job; a row whose runner's heartbeat is older
than the lease (its worker died) or was released (SIGTERM hand-back) is a job to take
over. The worker claims it by compare-and-set on ``attempt`` as it does with Redis (the
fencing is the row's, not the queue's), so ``deliveries`` is the row's ``attempt`` plus
this one. Two halves over one machine:

- ``RowJobs`` in the worker process: ``take`` reads the unfinished rows, waiting between
  reads on a wake-up from the server (a line on the worker's standard input for each
  enqueued job) or ``poll_s`` at most; heartbeats and dead jobs are reported to the
  server through ``report`` (a pipe the server reads, beside the worker's events).
- ``EmbeddedJobs`` in the server process: ``enqueue`` wakes the worker; the workers'
  heartbeats and the dead jobs are what the worker reported (kept in the server's memory:
  a dead job's deployment keeps its failed state and reason in its row across restarts;
  the list of dead jobs to retry starts empty with the server, as the worker does)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ...domain.enums import DeploymentStatus
from ...domain.models import Deployment
from ...events.redis_jobs import Job, QueueCounts

Report = Callable[[dict[str, Any]], None]


class RowJobs:
    """The worker's side: what ``services.deploy.worker.Worker`` needs of a queue."""

    def __init__(self, backend: Any, clock: Callable[[], datetime], report: Report, *,
                 wake: asyncio.Event | None = None, lease_s: float = 30.0,
                 poll_s: float = 0.5) -> None:
        self.backend, self.clock, self.report = backend, clock, report
        self.wake = wake or asyncio.Event()
        self.lease_s, self.poll_s = lease_s, poll_s

    def _claimable(self, dep: Deployment) -> bool:
        if dep.runner is None or dep.heartbeat_at is None:
            return True
        return (self.clock() - dep.heartbeat_at).total_seconds() >= self.lease_s

    async def take(self, worker: str, block_ms: int = 1000) -> Job | None:
        deadline = time.monotonic() + block_ms / 1000
        while True:
            self.wake.clear()  # a wake-up from now on means a row newer than this read
            async with self.backend.unit_of_work() as uow:
                rows = await uow.deployments.unfinished()
            for dep in rows:
                if self._claimable(dep):
                    reclaimed = dep.runner is not None or dep.status is not (
                        DeploymentStatus.PENDING)
                    return Job(str(dep.id), dep.id, dep.attempt + 1, reclaimed)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), min(left, self.poll_s))

    async def renew(self, job: Job, worker: str) -> bool:
        return True  # the lease is the row's heartbeat, which the worker writes

    async def ack(self, job: Job) -> None:
        """Nothing to do: the row's status says the job ended."""

    async def hand_back(self, job: Job, worker: str) -> None:
        """Nothing to do: the worker released the row (no heartbeat): claimable now."""

    async def bury(self, job: Job, reason: str) -> str:
        self.report({"dead": str(job.deployment_id), "reason": reason,
                     "deliveries": job.deliveries})
        return job.entry_id

    async def beat(self, worker: str) -> None:
        self.report({"beat": worker, "at": time.time()})

    async def leave(self, worker: str) -> None:
        self.report({"leave": worker})

    async def close(self) -> None:
        """Nothing to close (the pipes are the process's)."""


class EmbeddedJobs:
    """The server's side: the ``JobDispatch`` of the deployments service."""

    def __init__(self, backend: Any, clock: Callable[[], datetime],
                 wake: Callable[[], None], *, lease_s: float = 30.0) -> None:
        self.backend, self.clock, self._wake = backend, clock, wake
        self.lease_s = lease_s
        self._workers: dict[str, float] = {}
        self._dead: dict[str, dict[str, str]] = {}  # dead id -> fields, oldest first
        self._seq = 0
        self._remembered: dict[str, tuple[float, str]] = {}

    # -- what the worker reports ------------------------------------------------------------

    def reported(self, message: dict[str, Any]) -> None:
        if "beat" in message:
            self._workers[str(message["beat"])] = float(message["at"])
        elif "leave" in message:
            self._workers.pop(str(message["leave"]), None)
        elif "dead" in message:
            self._seq += 1
            self._dead[f"{int(time.time() * 1000)}-{self._seq}"] = {
                "deployment": str(message["dead"]), "reason": str(message["reason"]),
                "deliveries": str(message["deliveries"])}

    def worker_gone(self, pid_part: str) -> None:
        """A worker process ended (``pid_part``: ``":<pid>:"`` of its ``host:pid:nonce``
        name): it is no longer alive, whatever it last reported."""
        for name in [w for w in self._workers if pid_part in w]:
            del self._workers[name]

    # -- JobDispatch -------------------------------------------------------------------------

    async def enqueue(self, deployment_id: uuid.UUID) -> str:
        self._wake()
        return str(deployment_id)

    async def remember(self, key: str, value: str, ttl_s: int = 86400) -> str | None:
        now = time.monotonic()
        old = self._remembered.get(key)
        if old is not None and old[0] > now:
            return old[1]
        self._remembered[key] = (now + ttl_s, value)
        return None

    async def forget(self, key: str) -> None:
        self._remembered.pop(key, None)

    async def workers(self) -> dict[str, float]:
        return dict(self._workers)

    async def counts(self) -> QueueCounts:
        async with self.backend.unit_of_work() as uow:
            rows = await uow.deployments.unfinished(limit=10_000)
        now = self.clock()
        running = sum(1 for d in rows if d.runner is not None and d.heartbeat_at is not None
                      and (now - d.heartbeat_at).total_seconds() < self.lease_s)
        return QueueCounts(len(rows) - running, running, len(self._dead))

    async def dead_jobs(self, count: int = 100) -> list[tuple[str, dict[str, str]]]:
        return list(reversed(self._dead.items()))[:count]

    async def dead_job(self, dead_id: str) -> uuid.UUID | None:
        fields = self._dead.get(dead_id)
        return uuid.UUID(fields["deployment"]) if fields else None

    async def drop_dead(self, dead_id: str) -> None:
        self._dead.pop(dead_id, None)

    async def close(self) -> None:
        """Nothing to close (the worker process is the supervisor's)."""
