"""The watch after success: for ``watch_s`` after a deployment succeeded its services are
checked (after 0.25 s, then twice as long each time up to every ``watch_poll_s``); an
exit, a restart loop, an unhealthy state or a vanished container rolls back exactly as a
failed health stage does. A newer action on the project ends the watch."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field

from ...domain.deployment_flow import StageOutcome
from ...domain.enums import DeploymentStatus
from ...domain.errors import DeploymentError, WindFlowError
from ...domain.models import Deployment, DeploymentStageRecord
from ...engine.compose import ComposeProject
from ...engine.container_state import ContainerState
from ...engine.health_wait import HealthRules, fail_on_trouble
from .context import CancelToken, DeployContext, message_of
from .journal import Journal
from .logs import LogWriter
from .recover import recover
from .run import open_run
from .runners import ProjectLocks
from .state import RunState, WatchPlan

log = logging.getLogger("windflow.deploy")


@dataclass
class _Watch:
    """The post-success watch of one project. ``stop`` asks it to end at its next check
    (it never stops inside a database write); ``phase`` says what it is doing: watching,
    ``waiting`` for the project's lock to roll back (safe to cancel), or ``recovering``
    (holds the lock; waited for, not stopped)."""

    deployment_id: uuid.UUID
    task: asyncio.Task[None] | None = None
    phase: str = "watching"
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    stop_reason: str = ""


class Watches:
    """The watches of this process, one per project."""

    def __init__(self, context: DeployContext, journal: Journal, locks: ProjectLocks) -> None:
        self._ctx = context
        self._journal = journal
        self._locks = locks
        self._watches: dict[str, _Watch] = {}  # project → its post-success watch
        self._closing = False  # set by stop_all: no new watch starts

    def start(self, run: RunState, plan: WatchPlan) -> None:
        """Watch the project of ``run`` (its stage record was stored with the success;
        when closing, the watch only ends it)."""
        project = run.compose()
        watch = _Watch(run.deployment.id)
        if self._closing:
            self._ask_to_stop(watch, "the app was closed")
        self._watches[project.project] = watch
        watch.task = asyncio.get_running_loop().create_task(
            self._watch(watch, project, plan),
            name=f"deployment-watch-{run.deployment.id}")

    def watched(self) -> set[uuid.UUID]:
        """Deployments a watch of this process holds (watching or rolling back)."""
        return {w.deployment_id for w in self._watches.values()}

    async def stop(self, project: str, reason: str) -> None:
        """End the watch of ``project`` (call with the project's lock held): one that is
        watching stops at its next check, one waiting for the lock is cancelled (it holds
        nothing), one rolling back is waited for."""
        watch = self._watches.get(project)
        if watch is None or watch.task is None:
            return
        self._ask_to_stop(watch, reason)
        await asyncio.wait({watch.task})  # not gather: cancelling us must not cancel it

    def _ask_to_stop(self, watch: _Watch, reason: str) -> None:
        watch.stop_reason = watch.stop_reason or reason
        watch.stop.set()
        if watch.phase == "waiting" and watch.task is not None:
            watch.task.cancel()

    async def stop_all(self, grace_s: float = 30.0) -> None:
        """Stop every watch (at shutdown). A watch that is rolling back gets ``grace_s``
        to finish; cut short, its deployment stays running and is reconciled at the next
        start (as failed: its watch failed)."""
        self._closing = True
        watches = [w for w in self._watches.values() if w.task is not None]
        for watch in watches:
            self._ask_to_stop(watch, "the app was closed")
        tasks = {w.task for w in watches if w.task is not None}
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=grace_s)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)

    async def watching(self, deployment_id: uuid.UUID) -> None:
        """Wait until the post-success watch of ``deployment_id`` (if any) has ended."""
        tasks = {w.task for w in self._watches.values()
                 if w.deployment_id == deployment_id and w.task is not None}
        if tasks:
            await asyncio.wait(tasks)

    async def _watch(self, watch: _Watch, project: ComposeProject, plan: WatchPlan) -> None:
        s, journal = self._ctx.settings, self._journal
        run: RunState | None = None
        record: DeploymentStageRecord | None = plan.record
        try:
            dep, target, revision = await journal.load(watch.deployment_id)
            run = await open_run(self._ctx, journal, dep, target, revision, CancelToken())
            run.project = project = ComposeProject(run.executor, project.project,
                                                   project.root, flavour=project.flavour,
                                                   guarded=project.guarded)
            run.logs.system(f"Watching {', '.join(plan.services)} for {s.watch_s:g} s: an "
                            "exit, a restart loop or an unhealthy state rolls back")
            failure = await self._trouble(watch, dep, project, plan, run.logs)
            if failure is None:
                outcome, text = (
                    (StageOutcome.STOPPED, watch.stop_reason) if watch.stop.is_set() else
                    (StageOutcome.SUCCEEDED, f"all services stayed up for {s.watch_s:g} s"))
                ended, record = plan.record, None
                await journal.end_stage(run, ended, outcome, text)
                run.logs.system(f"Watch {outcome}: {text}")
                await journal.publish_stage(dep)
                return
            watch.phase = "waiting"  # a newer action holding the lock cancels us here
            async with self._locks(project.project):
                watch.phase = "recovering"
                ended, record = plan.record, None
                await journal.end_stage(run, ended, StageOutcome.FAILED, failure)
                run.logs.add("stderr", f"after the deployment succeeded: {failure}")
                await journal.set(dep, status=DeploymentStatus.RUNNING, finished_at=None,
                                  runner=self._ctx.runner, heartbeat_at=self._ctx.clock())
                await recover(self._ctx, journal, run,
                              f"{failure} after the deployment succeeded")
        except asyncio.CancelledError:
            if run is not None and record is not None:
                with contextlib.suppress(Exception):
                    await journal.end_stage(run, record, StageOutcome.STOPPED, watch.stop_reason)
                    await journal.publish_stage(run.deployment)
            raise
        except Exception as exc:  # the target or the database: the watch ends, says why
            log.warning("deployment %s: the watch ended: %s", watch.deployment_id,
                        message_of(exc), exc_info=not isinstance(exc, WindFlowError))
            if run is not None and record is not None:
                with contextlib.suppress(Exception):
                    await journal.end_stage(run, record, StageOutcome.FAILED,
                                            f"could not watch: {message_of(exc)}")
                    await journal.publish_stage(run.deployment)
        finally:
            if run is not None:
                with contextlib.suppress(Exception):
                    await run.logs.close()
            if self._watches.get(project.project) is watch:
                del self._watches[project.project]

    async def _trouble(self, watch: _Watch, dep: Deployment, project: ComposeProject,
                       plan: WatchPlan, logs: LogWriter) -> str | None:
        """The first trouble seen within ``watch_s``, or None (also when asked to stop,
        here or through the database). A target that cannot be asked for a while is no
        verdict: the watch goes on."""
        s = self._ctx.settings
        deadline = time.monotonic() + s.watch_s
        pause = min(0.25, s.watch_poll_s)
        while (left := deadline - time.monotonic()) > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(watch.stop.wait(), min(pause, left))
            if watch.stop.is_set() or await self._asked_to_end(watch, dep):
                return None
            pause = min(pause * 2, s.watch_poll_s)
            try:
                states = await project.ps()
            except WindFlowError as exc:
                log.info("watch of %s: %s", project.project, exc.message)
                continue
            failure = await _failure(project, states, plan, s.health(), logs)
            # Asked again: an action on the project (maybe in another process) was
            # asked for before it changed anything, so before we saw its change.
            if failure is not None and not await self._asked_to_end(watch, dep):
                return failure
        return None

    async def _asked_to_end(self, watch: _Watch, dep: Deployment) -> bool:
        """Whether the database says the watch must end (then it is asked to stop)."""
        try:
            reason = await self._journal.watch_stop_reason(dep)
        except WindFlowError as exc:  # no verdict; asked again at the next check
            log.info("watch of %s: %s", dep.project_name, exc.message)
            return False
        if reason is not None:
            self._ask_to_stop(watch, reason)
        return reason is not None


async def _failure(project: ComposeProject, states: list[ContainerState], plan: WatchPlan,
                   health: HealthRules, logs: LogWriter) -> str | None:
    try:
        await fail_on_trouble(project, states, plan.services, plan.baseline, health,
                              logs.add)
    except DeploymentError as exc:
        return exc.message
    missing = set(plan.services) - {c.service for c in states}
    if missing:
        return f"the container of {', '.join(sorted(missing))} is gone"
    return None
