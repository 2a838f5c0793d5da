"""A deployment worker: takes jobs from the shared queue, claims each deployment on its
row (compare-and-set on ``attempt``), runs the deployment core while renewing its lease
(XCLAIM to itself + the row's heartbeat), and acknowledges at the end.

A job whose lease expired (its worker died) is taken by another worker, which claims
the row (the dead worker's late writes are refused) and settles the deployment from the
target's real state (``reconcile``: Compose labels and ``ps``) with a stated reason. A
job delivered more than ``max_deliveries`` times goes to the dead-letter stream and its
deployment fails saying why. ``drain()`` (SIGTERM): the running job finishes, or after
``grace_s`` it is handed back to the queue for another worker. A cancel asked through the
row (``cancel_requested_at``) is read every ``cancel_poll_s`` while a job runs.

One project never has two runs at once: the row is the lock — a run starts only after
its claim bumped ``attempt``, a second job of a deployment already claimed is dropped,
and the service never creates a second active deployment of a stack on a target."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from ...domain.enums import ACTIVE_DEPLOYMENT, DeploymentStatus
from ...domain.errors import NotFoundError, StaleAttemptError
from ...domain.models import Deployment
from ...events.redis_jobs import Job
from .context import CancelToken
from .core import DeploymentCore
from .jobs import WorkerQueue

log = logging.getLogger("windflow.worker")
CANCEL_POLL_S = 1.0  # how soon a cancel asked through the row reaches a run


class HandedBack(Exception):
    """The job went back to the queue unfinished (SIGTERM past the grace period)."""


class Worker:
    def __init__(self, core: DeploymentCore, queue: WorkerQueue, *,
                 max_deliveries: int = 3, grace_s: float = 20.0,
                 cancel_poll_s: float = CANCEL_POLL_S) -> None:
        self.core, self.queue = core, queue
        self.max_deliveries = max_deliveries
        self.grace_s = grace_s
        self.cancel_poll_s = cancel_poll_s
        self._stopping = asyncio.Event()
        self._watched: set[asyncio.Task[None]] = set()  # jobs held while their watch runs

    @property
    def id(self) -> str:
        return self.core.runner

    async def serve(self) -> None:
        """Take and run jobs until ``drain()``."""
        beat = asyncio.create_task(self._beat_forever(), name="worker-beat")
        try:
            while not self._stopping.is_set():
                job = await self.queue.take(self.id, block_ms=500)
                if job is None or self._stopping.is_set():
                    if job is not None:
                        await self.queue.hand_back(job, self.id)
                    continue
                await self.handle(job)
        finally:
            await self._end_watches()
            beat.cancel()
            with contextlib.suppress(BaseException):
                await beat
            with contextlib.suppress(Exception):
                await self.queue.leave(self.id)

    async def drain(self) -> None:
        self._stopping.set()

    async def _beat_forever(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                await self.queue.beat(self.id)
            await asyncio.sleep(max(self.queue.lease_s / 3, 0.2))

    async def handle(self, job: Job) -> None:
        try:
            dep = await self.core.get(job.deployment_id)
        except NotFoundError:
            await self.queue.ack(job)  # deleted meanwhile: nothing to run
            return
        if dep.status not in ACTIVE_DEPLOYMENT:
            await self.queue.ack(job)  # a duplicate delivery of a job that ended
            return
        if job.deliveries > self.max_deliveries:
            reason = (f"dead-lettered: its worker stopped before finishing it "
                      f"{job.deliveries - 1} times (the limit is {self.max_deliveries})")
            if await self._claim(dep.id, dep.attempt):
                fresh = await self.core.get(dep.id)
                await self.core.fail_unstarted(fresh, reason)
            await self.queue.bury(job, reason)
            return
        if self._held_elsewhere(dep):
            # Another worker runs it and renews its lease: a duplicate delivery is
            # dropped; a job reclaimed while its holder is alive is left to its holder.
            if not job.reclaimed:
                await self.queue.ack(job)
            return
        if not await self._claim(dep.id, dep.attempt):
            await self.queue.ack(job)  # another worker claimed it: never a second run
            return
        lease: asyncio.Task[None] | None = asyncio.create_task(
            self._renew(job), name=f"lease-{job.entry_id}")
        token = CancelToken()
        heed = asyncio.create_task(self._heed_cancel(dep.id, token),
                                   name=f"cancel-{job.entry_id}")
        try:
            if job.reclaimed or dep.status is not DeploymentStatus.PENDING:
                # Its worker died mid-run: settle it from the target's real state.
                await self.core.reconcile(dep.id)
            else:
                await self._run(job, dep.id, dep.attempt + 1, token)
                # The watch after a success is part of the run (it rolls back a service
                # that dies in it): the job is held, and its lease renewed, until it
                # ends — while this worker takes the next job.
                holder = asyncio.create_task(self._hold_while_watched(job, dep.id, lease),
                                             name=f"watched-{job.entry_id}")
                self._watched.add(holder)
                holder.add_done_callback(self._watched.discard)
                lease = None
                return
            await self.queue.ack(job)
        except HandedBack:
            log.info("deployment %s handed back to the queue", dep.id)
        except StaleAttemptError:
            log.warning("deployment %s was taken over by another worker", dep.id)
        except Exception:
            log.exception("deployment %s: the worker failed", dep.id)
            await self.queue.ack(job)
        finally:
            for task in (lease, heed):
                await _ended(task)

    async def _hold_while_watched(self, job: Job, dep_id: uuid.UUID,
                                  lease: asyncio.Task[None] | None) -> None:
        try:
            await self.core.watching(dep_id)
            await self.queue.ack(job)
        except Exception:
            log.warning("deployment %s: the job after its watch could not be acknowledged",
                        dep_id, exc_info=True)
        finally:
            await _ended(lease)

    async def _end_watches(self) -> None:
        """At drain: the watches still running get ``grace_s`` to end, then are stopped
        (their deployments succeeded; each job is acknowledged as its watch ends)."""
        if self._watched:
            await asyncio.wait(set(self._watched), timeout=self.grace_s)
        if self._watched:
            await self.core.stop_watches(self.grace_s)
            await asyncio.gather(*self._watched, return_exceptions=True)

    async def _run(self, job: Job, dep_id: uuid.UUID, attempt: int, token: CancelToken
                   ) -> None:
        """Run the claimed deployment (``attempt``: this claim's fencing token)."""
        run = asyncio.ensure_future(self.core.run(dep_id, token))
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({run, stop}, return_when=asyncio.FIRST_COMPLETED)
            if not run.done():  # SIGTERM: let the run finish its stages for a while
                done, _ = await asyncio.wait({run}, timeout=self.grace_s)
                if not done:  # then hand it back: the next worker settles it
                    run.cancel()
                    with contextlib.suppress(BaseException):
                        await run
                    async with self.core.context.backend.unit_of_work() as uow:
                        await uow.deployments.release(dep_id, attempt)
                        await uow.commit()
                    await self.queue.hand_back(job, self.id)
                    raise HandedBack
            await run
        finally:
            stop.cancel()

    def _held_elsewhere(self, dep: Deployment) -> bool:
        """Whether another worker claimed ``dep`` and its row heartbeat is younger than
        two thirds of the lease (by the database's clock; a live holder writes it every
        third)."""
        if dep.runner is None or dep.runner == self.id or dep.heartbeat_at is None:
            return False
        age = (self.core.context.clock() - dep.heartbeat_at).total_seconds()
        return age < self.queue.lease_s * 2 / 3

    async def _claim(self, dep_id: uuid.UUID, attempt: int) -> bool:
        async with self.core.context.backend.unit_of_work() as uow:
            won = await uow.deployments.claim(dep_id, self.id, attempt,
                                              self.core.context.clock())
            await uow.commit()
        return won

    async def _heed_cancel(self, dep_id: uuid.UUID, token: CancelToken) -> None:
        """While the job runs, every ``cancel_poll_s``: a cancel asked through the row
        (``POST …/cancel`` on any server process) reaches the run, which stops at its
        next safe point as a window's own run does."""
        ctx = self.core.context
        while not token.cancelled:
            await asyncio.sleep(self.cancel_poll_s)
            try:
                async with ctx.backend.unit_of_work() as uow:
                    asked = await uow.deployments.cancel_requested_at(dep_id)
            except Exception:
                log.warning("could not read whether %s was cancelled", dep_id, exc_info=True)
                continue
            if asked is not None:
                log.info("deployment %s: cancel requested", dep_id)
                token.cancel()

    async def _renew(self, job: Job) -> None:
        """Every third of the lease: XCLAIM to itself and the row's heartbeat."""
        ctx = self.core.context
        while True:
            await asyncio.sleep(self.queue.lease_s / 3)
            try:
                await self.queue.renew(job, self.id)
                async with ctx.backend.unit_of_work() as uow:
                    await uow.deployments.heartbeat([job.deployment_id], self.id, ctx.clock())
                    await uow.commit()
            except Exception:
                log.warning("could not renew the lease of %s", job.entry_id, exc_info=True)


async def _ended(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
