"""Settle a deployment a dead process left ``pending``/``running``, from the target's
real state (or say that state is unknown when the target cannot be reached)."""

from __future__ import annotations

import uuid

from ...domain.deployment_flow import StageName, StageOutcome
from ...domain.enums import ACTIVE_DEPLOYMENT, DeploymentStage, DeploymentStatus
from ...domain.errors import DeploymentError, WindFlowError
from ...domain.models import Deployment, Target
from ...engine.compose_model import model_services
from ...engine.health_wait import running_text
from . import places
from .context import CancelToken, DeployContext, message_of
from .journal import Journal
from .logs import LogWriter
from .run import open_run


async def reconcile(ctx: DeployContext, journal: Journal,
                    deployment_id: uuid.UUID) -> Deployment:
    dep, target, revision = await journal.load(deployment_id)
    if dep.status not in ACTIVE_DEPLOYMENT:
        return dep
    records = await journal.stages(dep.id)
    stages = [s.stage for s in records]
    watch_failed = next((s.detail for s in records
                         if s.stage == StageName.WATCH and s.outcome == StageOutcome.FAILED), None)
    try:
        run = await open_run(ctx, journal, dep, target, revision, CancelToken())
    except WindFlowError as exc:
        # The target cannot even be reached: say so instead of showing it running.
        return await _settle_unreachable(ctx, journal, dep, target, exc)
    try:
        record = await journal.record_stage(run, StageName.RECONCILE, StageOutcome.RUNNING, "")
        reached_up = DeploymentStage.UP.value in stages
        if dep.status is DeploymentStatus.PENDING or not reached_up:
            where = dep.stage.value if dep.stage else "start"
            text = (f"the app stopped during {where}, before anything changed on the "
                    "target; the earlier state is untouched")
            try:
                place = await places.place_of(ctx, run.executor, target)
                await places.project_at(ctx, run.executor, target, dep.project_name,
                                        place).discard_staged()
            except WindFlowError:
                pass
            await journal.end_stage(run, record, StageOutcome.SUCCEEDED, text)
            await journal.finish(run, DeploymentStatus.FAILED, text)
            return await journal.get(dep.id)
        try:
            place = await places.place_of(ctx, run.executor, target)
            if place.compose is None:
                raise DeploymentError(f"{target.name} has no Docker Compose")
            project = places.project_at(ctx, run.executor, target, dep.project_name, place)
            model = await project.config()
            states = await project.ps()
        except WindFlowError as exc:
            text = (f"the app stopped during {dep.stage}; the target could not be checked "
                    f"({message_of(exc)}): its state is unknown")
            await journal.end_stage(run, record, StageOutcome.FAILED, text)
            await journal.finish(run, DeploymentStatus.FAILED, text)
            return await journal.get(dep.id)
        expected = model_services(model)
        running = {c.service for c in states if c.status == "running"
                   and c.health in (None, "healthy")}
        found = ", ".join(sorted(f"{c.service}: {c.status}" for c in states)) or "nothing"
        run.logs.system(f"Reconciling after a restart: found {found}")
        if watch_failed is not None:  # it failed; the app stopped while rolling back
            text = (f"{watch_failed} after the deployment succeeded; the app stopped "
                    f"while rolling back; after the restart found {found}")
            await journal.end_stage(run, record, StageOutcome.SUCCEEDED, text)
            await journal.finish(run, DeploymentStatus.FAILED, text)
        elif expected and set(expected) <= running:
            text = f"reconciled after a restart: {running_text(len(expected))}"
            await journal.end_stage(run, record, StageOutcome.SUCCEEDED, text)
            await journal.finish(run, DeploymentStatus.SUCCEEDED, None, note=text)
        else:
            missing = sorted(set(expected) - running)
            text = (f"the app stopped during {dep.stage}; after the restart "
                    f"{', '.join(missing)} not running (found {found})")
            await journal.end_stage(run, record, StageOutcome.SUCCEEDED, text)
            await journal.finish(run, DeploymentStatus.FAILED, text)
    finally:
        await run.logs.close()
    return await journal.get(dep.id)


async def _settle_unreachable(ctx: DeployContext, journal: Journal, dep: Deployment,
                              target: Target, exc: WindFlowError) -> Deployment:
    text = (f"the app stopped during {dep.stage or 'start'}; {target.name} could not be "
            f"reached to check it ({message_of(exc)}): its state is unknown")
    first_seq, _ = await journal.positions(dep)
    logs = LogWriter(ctx, dep, first_seq, await journal.secret_values(dep))  # finish flushes
    await journal.finish_deployment(dep, logs, DeploymentStatus.FAILED, text)
    return await journal.get(dep.id)
