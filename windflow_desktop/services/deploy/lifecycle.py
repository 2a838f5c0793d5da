"""Stop, start or remove the Compose project of a finished deployment, recorded as a
stage of that deployment."""

from __future__ import annotations

import logging
import uuid

from ...domain.deployment_flow import Action, StageOutcome
from ...domain.enums import DeploymentStatus
from ...domain.errors import DeploymentError, WindFlowError
from ...domain.events import DeploymentStatusChanged
from ...domain.models import Deployment
from ...engine.compose import ComposeProject
from ...engine.compose_model import model_services
from ...engine.health_wait import wait_healthy
from . import places
from .context import CancelToken, DeployContext, message_of
from .journal import Journal, deployment_event
from .run import open_run
from .runners import ProjectLocks
from .state import RunState
from .watch import Watches

log = logging.getLogger("windflow.deploy")
WATCH_END_S = 5.0  # beyond a check's pause: how long an action waits for another's watch


async def lifecycle(ctx: DeployContext, journal: Journal, locks: ProjectLocks,
                    watches: Watches, deployment_id: uuid.UUID, action: Action, *,
                    volumes: bool = False) -> Deployment:
    """``stop``, ``start`` or ``remove`` the project of a finished deployment."""
    dep, target, revision = await journal.load(deployment_id)
    async with locks(dep.project_name):
        # Asked again under the lock: a deploy that held it may have taken the project
        # over since the caller asked (stopping this one would stop that).
        dep = await journal.still_may(deployment_id, action)
        await watches.stop(dep.project_name, f"the project was asked to {action.value}")
        await journal.request_stop(dep)  # a watch in another process ends at its next check
        if not await journal.watch_ended(dep.id, ctx.settings.watch_poll_s + WATCH_END_S):
            log.warning("deployment %s: its watch did not end in time (its process is "
                        "gone); ended, %s goes on", dep.id, action.value)
        run = await open_run(ctx, journal, dep, target, revision, CancelToken())
        try:
            record = await journal.record_stage(run, action, StageOutcome.RUNNING, "")
            try:
                place = await places.place_of(ctx, run.executor, target)
                if place.compose is None:
                    raise DeploymentError(f"{target.name} has no Docker Compose")
                project = places.project_at(ctx, run.executor, target, dep.project_name, place)
                status = await _act(ctx, run, project, action, volumes)
            except WindFlowError as exc:
                await journal.end_stage(run, record, StageOutcome.FAILED, message_of(exc))
                raise
            await journal.end_stage(run, record, StageOutcome.SUCCEEDED,
                                    "volumes removed" if volumes else "")
            await journal.set(dep, status=status)
            payload = DeploymentStatusChanged(status.value, action.value, str(dep.stack_id),
                                              str(dep.target_id))
            await ctx.publish(deployment_event(dep, payload.TYPE, payload.to_data()))
        finally:
            await run.logs.close()
    return await journal.get(deployment_id)


async def _act(ctx: DeployContext, run: RunState, project: ComposeProject, action: Action,
               volumes: bool) -> DeploymentStatus:
    if action == Action.STOP:
        await project.stop(on_line=run.logs.add)
        return DeploymentStatus.STOPPED
    if action == Action.START:
        await project.start(on_line=run.logs.add)
        model = await project.config(on_line=run.logs.add)
        await wait_healthy(project, model_services(model),
                           ctx.settings.health(settle_s=ctx.settings.recovery_settle_s),
                           run.logs.add)
        return DeploymentStatus.SUCCEEDED
    if action == Action.REMOVE:
        await project.down(volumes=volumes, on_line=run.logs.add)
        await project.remove_files()
        return DeploymentStatus.REMOVED
    raise ValueError(action)
