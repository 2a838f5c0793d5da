"""Who runs what in this process: rollouts (waves, a bound on parallel runs), the
cancel token of each running deployment, the heartbeat that says this process still runs
them, and the sweep that settles what a dead process left."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from ...domain.deployment_flow import Rollout
from ...domain.enums import ACTIVE_DEPLOYMENT, DeploymentStatus
from ...domain.models import Deployment
from ...domain.paging import PageRequest
from ...tasks import TaskTracker
from ..common import ServiceContext
from .context import CancelToken
from .core import DeploymentCore

RECONCILE_CONCURRENCY = 8
log = logging.getLogger("windflow.deployments")


class Rollouts:
    """Runs the deployments of each request to their end; ``cancel_token(id)`` is set
    for each deployment this process runs (or is about to run, from its commit on)."""

    def __init__(self, context: ServiceContext, core: DeploymentCore) -> None:
        self._ctx = context
        self._core = core
        self._tasks = TaskTracker("deployments")
        self._cancel: dict[uuid.UUID, CancelToken] = {}
        self._closing = False
        self._beat_stop = asyncio.Event()
        self._beat_task: asyncio.Task[None] | None = None
        self._sweep: asyncio.Task[list[Deployment]] | None = None

    def claim(self, ids: list[uuid.UUID]) -> None:
        """These are ours from their commit on: no sweep may settle them."""
        for dep_id in ids:
            self._cancel.setdefault(dep_id, CancelToken())

    def release(self, ids: list[uuid.UUID]) -> None:
        for dep_id in ids:
            self._cancel.pop(dep_id, None)

    def cancel_token(self, deployment_id: uuid.UUID) -> CancelToken | None:
        return self._cancel.get(deployment_id)

    def start(self, deployments: list[Deployment], parallel: int,
               stop_on_failure: bool) -> Rollout:
        for dep in deployments:
            self._cancel.setdefault(dep.id, CancelToken())
        self._keep_beating()
        task = self._tasks.spawn(self._run_all(deployments, parallel, stop_on_failure),
                                 name=f"rollout-{deployments[0].id}")
        return Rollout(deployments, task)

    async def _run_all(self, deployments: list[Deployment], parallel: int,
                       stop_on_failure: bool) -> list[Deployment]:
        """Every deployment ends settled: one that raised unexpectedly is failed with
        its error, and the ones a staged rollout (or a cancelled rollout) never started
        are ended as not started."""
        results: dict[uuid.UUID, Deployment] = {}
        started: set[uuid.UUID] = set()
        stop_reason: str | None = None
        try:
            if stop_on_failure:
                for start in range(0, len(deployments), parallel):
                    wave = deployments[start:start + parallel]
                    done = await asyncio.gather(*(self._run_one(d, started) for d in wave),
                                                return_exceptions=True)
                    # A wave is judged after its watch: a service that dies seconds after
                    # success must stop the rollout before the next wave gets the revision.
                    done = [await self._watched(d) if isinstance(d, Deployment) else d
                            for d in done]
                    ended = [d for d in done if isinstance(d, Deployment)]
                    results.update((d.id, d) for d in ended)
                    failed = [d for d in ended if d.status is not DeploymentStatus.SUCCEEDED]
                    if failed:
                        stop_reason = (f"not started: the deployment to an earlier target "
                                       f"ended {failed[0].status.value}")
                        break
            else:
                bound = asyncio.Semaphore(parallel)

                async def one(dep: Deployment) -> Deployment:
                    async with bound:
                        return await self._run_one(dep, started)

                done = await asyncio.gather(*(one(d) for d in deployments),
                                            return_exceptions=True)
                results.update((d.id, d) for d in done if isinstance(d, Deployment))
        finally:
            for dep in deployments:
                if dep.id in results or dep.id in started:
                    continue  # ended, or (a cancelled rollout) reconciled at the next start
                results[dep.id] = await self._settle(
                    dep, stop_reason or "not started: the rollout was stopped",
                    DeploymentStatus.CANCELLED)
            for dep in deployments:
                self._cancel.pop(dep.id, None)
        return [results.get(d.id, d) for d in deployments]

    async def _run_one(self, dep: Deployment, started: set[uuid.UUID]) -> Deployment:
        started.add(dep.id)
        token = self._cancel.get(dep.id) or CancelToken()
        try:
            return await self._core.run(dep.id, token)
        except Exception as exc:  # a bug or a broken database: end it, keep the others going
            log.exception("deployment %s: unexpected error", dep.id)
            return await self._settle(dep, f"unexpected error: {type(exc).__name__}: {exc}",
                                      DeploymentStatus.FAILED)

    async def _watched(self, dep: Deployment) -> Deployment:
        """``dep`` once the watch after its success has ended (its state then)."""
        if dep.status is not DeploymentStatus.SUCCEEDED:
            return dep
        await self._core.watching(dep.id)
        return await self._core.get(dep.id)

    async def _settle(self, dep: Deployment, error: str,
                      status: DeploymentStatus) -> Deployment:
        """End ``dep`` with ``error`` unless it already ended; never raises."""
        try:
            current = await self._core.get(dep.id)
            if current.status not in ACTIVE_DEPLOYMENT:
                return current
            await self._core.fail_unstarted(current, error, status)
            return await self._core.get(dep.id)
        except Exception:
            log.exception("deployment %s could not be ended as %s", dep.id, status.value)
            return dep

    async def reconcile_unfinished(self) -> list[Deployment]:
        """Settle every deployment a previous run of the app left pending or running
        (call once at start-up, before any deploy). Returns them in their new state."""
        ids: list[uuid.UUID] = []
        async with self._ctx.transaction() as scope:
            after: str | None = None
            while True:
                orgs = await scope.uow.organizations.list(PageRequest(500, after))
                for org in orgs.items:
                    cursor: str | None = None
                    while True:
                        page = await scope.uow.deployments.list(
                            org.id, PageRequest(500, cursor), status=list(ACTIVE_DEPLOYMENT))
                        ids.extend(d.id for d in page.items if d.id not in self._cancel
                                   and not self._core.is_live(d))
                        if page.next_cursor is None:
                            break
                        cursor = page.next_cursor
                if orgs.next_cursor is None:
                    break
                after = orgs.next_cursor
        bound = asyncio.Semaphore(RECONCILE_CONCURRENCY)

        async def settle(dep_id: uuid.UUID) -> Deployment | None:
            async with bound:  # unreachable targets wait out their timeouts side by side
                try:
                    return await self._core.reconcile(dep_id)
                except Exception:  # one deployment's trouble must not stop the others
                    log.warning("deployment %s could not be reconciled", dep_id,
                                exc_info=True)
                    return None

        settled = await asyncio.gather(*(settle(dep_id) for dep_id in ids))
        self._keep_beating()  # from now on, also sweeps what a window that died left
        return [dep for dep in settled if dep is not None]

    # -- heartbeat -------------------------------------------------------------------------

    def _keep_beating(self) -> None:
        if self._beat_task is None and not self._closing:
            self._beat_task = asyncio.get_running_loop().create_task(
                self._beat(), name="deployments-heartbeat")

    async def _beat(self) -> None:
        """Every ``heartbeat_s``: mark the deployments this process runs as alive (one
        UPDATE), and every sixth time settle those a dead process left (in the
        background, one sweep at a time). Stops only between two writes."""
        settings = self._core.settings
        beats = 0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._beat_stop.wait(), settings.heartbeat_s)
            if self._beat_stop.is_set():
                return
            beats += 1
            ids = set(self._cancel) | self._core.watched()
            try:
                if ids:
                    async with self._ctx.backend.unit_of_work() as uow:
                        await uow.deployments.heartbeat(sorted(ids), self._core.runner,
                                                        self._ctx.clock())
                        await uow.commit()
            except Exception:
                log.warning("could not write the deployments' heartbeat", exc_info=True)
            if beats % 6 == 0 and not self._closing and \
                    (self._sweep is None or self._sweep.done()):
                self._sweep = self._tasks.spawn(self.reconcile_unfinished(),
                                                name="deployments-sweep")

    async def shutdown(self) -> None:
        """Stop running pipelines (they are reconciled at the next start); idempotent."""
        for token in self._cancel.values():
            token.cancel()
        self._closing = True  # the heartbeat goes on through the grace periods, no sweeps
        await self._core.stop_watches()  # and no new one starts
        await self._tasks.shutdown(grace_s=10)
        self._beat_stop.set()
        if self._beat_task is not None:
            await asyncio.wait({self._beat_task})
