"""The journal of deployments: the only writer of deployment rows, stage records, the
``deployment.finished`` audit row and the deployment events (log lines are the log
writer's), and the reads the core needs. Every write is fenced by the deployment's
``attempt``: once another worker claimed the deployment, this run's writes are refused
(``StaleAttemptError``)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from ...domain.deployment_flow import Action, StageName, StageOutcome, may_move
from ...domain.enums import DeploymentStage, DeploymentStatus
from ...domain.errors import ConflictError
from ...domain.events import DeploymentFinished, DeploymentStageChanged, Event
from ...domain.masking import mask
from ...domain.models import Deployment, DeploymentStageRecord, StackRevision, Target
from ...domain.words import words
from ...repositories.protocols import UnitOfWork
from .context import DeployContext
from .logs import LogWriter
from .standing import may
from .state import RunState
from .values import secret_values


def deployment_event(dep: Deployment, event_type: str, data: dict[str, Any]) -> Event:
    return Event(event_type=event_type, aggregate_type="deployment",
                 aggregate_id=str(dep.id), organization_id=str(dep.organization_id),
                 actor_id=str(dep.actor_id) if dep.actor_id else None, data=data)


class Journal:
    def __init__(self, context: DeployContext) -> None:
        self._ctx = context

    # -- reads ----------------------------------------------------------------------------

    async def get(self, deployment_id: uuid.UUID) -> Deployment:
        async with self._ctx.backend.unit_of_work() as uow:
            return await uow.deployments.get(deployment_id)

    async def load(self, deployment_id: uuid.UUID
                   ) -> tuple[Deployment, Target, StackRevision]:
        async with self._ctx.backend.unit_of_work() as uow:
            dep = await uow.deployments.get(deployment_id)
            target = await uow.targets.get(dep.target_id)
            revision = await uow.stacks.get_revision_by_id(dep.revision_id)
        return dep, target, revision

    async def revision(self, revision_id: uuid.UUID) -> StackRevision:
        async with self._ctx.backend.unit_of_work() as uow:
            return await uow.stacks.get_revision_by_id(revision_id)

    async def still_may(self, deployment_id: uuid.UUID, action: Action) -> Deployment:
        """The deployment as stored now, if the flow table still allows ``action``."""
        async with self._ctx.backend.unit_of_work() as uow:
            dep = await uow.deployments.get(deployment_id)
            await may(uow, dep, action)
        return dep

    async def positions(self, dep: Deployment) -> tuple[int, int]:
        """(last log seq, stage records) of ``dep``: where a new run numbers on."""
        async with self._ctx.backend.unit_of_work() as uow:
            return (int(await uow.deployments.last_log_seq(dep.id)),
                    len(await uow.deployments.stages(dep.id)))

    async def stages(self, deployment_id: uuid.UUID) -> list[DeploymentStageRecord]:
        async with self._ctx.backend.unit_of_work() as uow:
            return list(await uow.deployments.stages(deployment_id))

    async def last_good(self, dep: Deployment) -> Deployment | None:
        """The latest succeeded deployment of the stack on the target other than ``dep``
        (a watched deployment has succeeded itself), unless the project was removed
        since: what ran before a removal is gone (and so are its secrets)."""
        async with self._ctx.backend.unit_of_work() as uow:
            latest: Deployment | None = await uow.deployments.last_with_status(
                dep.stack_id, dep.target_id,
                [DeploymentStatus.SUCCEEDED, DeploymentStatus.REMOVED], exclude=dep.id)
        return latest if latest is not None and latest.status is DeploymentStatus.SUCCEEDED \
            else None

    async def watch_stop_reason(self, dep: Deployment) -> str | None:
        """Why the watch of ``dep`` must end now rather than roll back, as the database
        tells (the action may run in another process: a server's API and its workers):
        a stop, start or remove of the project was asked for since it succeeded, or a
        newer deployment of the project was made. None while neither happened."""
        async with self._ctx.backend.unit_of_work() as uow:
            asked = await uow.deployments.cancel_requested_at(dep.id)
            newest = await uow.deployments.last_with_status(
                dep.stack_id, dep.target_id, list(DeploymentStatus))
        if asked is not None:  # cleared when it succeeded: asked since
            return "the project was asked to stop, start or be removed"
        if newest is not None and newest.created_at > dep.created_at:
            return "a newer deployment of this project started"
        return None

    async def watch_ended(self, deployment_id: uuid.UUID, within_s: float) -> bool:
        """Wait (up to ``within_s``) until no watch stage of the deployment is running
        — one in another process ends at its next check once asked. One still running
        then is left by a process that is gone: it is ended (False)."""
        deadline = time.monotonic() + within_s
        while True:
            async with self._ctx.backend.unit_of_work() as uow:
                running = [s for s in await uow.deployments.stages(deployment_id)
                           if is_running_watch(s)]
                if not running:
                    return True
                if time.monotonic() >= deadline:
                    await self._end_unwatched(uow, running)
                    return False
            await asyncio.sleep(0.1)

    async def end_unwatched(self, dep: Deployment) -> list[DeploymentStageRecord]:
        """End the watch stages of ``dep`` still running (call when no process may watch
        it any more: the one that did is gone) and tell every window; its stage records
        then."""
        async with self._ctx.backend.unit_of_work() as uow:
            records = list(await uow.deployments.stages(dep.id))
            running = [s for s in records if is_running_watch(s)]
            await self._end_unwatched(uow, running)
        if running:
            await self.publish_stage(dep)
        return records

    async def _end_unwatched(self, uow: UnitOfWork,
                             running: Sequence[DeploymentStageRecord]) -> None:
        for record in running:
            record.outcome = StageOutcome.STOPPED
            record.finished_at = self._ctx.clock()
            record.detail = "no process watched it any more"
            await uow.deployments.save_stage(record)
        await uow.commit()

    async def secret_values(self, dep: Deployment) -> list[str]:
        """The secret values of ``dep`` still in the keyring (to mask them in texts)."""
        return await secret_values(self._ctx.secrets, dep.variables)

    # -- writes ---------------------------------------------------------------------------

    async def request_stop(self, dep: Deployment) -> None:
        """Tell the watch of ``dep``, wherever it runs, that an action on the project
        begins (see ``watch_stop_reason``)."""
        async with self._ctx.backend.unit_of_work() as uow:
            await uow.deployments.request_stop(dep.id, self._ctx.clock())
            await uow.commit()

    async def set(self, dep: Deployment, **fields: Any) -> None:
        """Store ``fields`` of ``dep`` (a status or stage change is published)."""
        async with self._ctx.backend.unit_of_work() as uow:
            await uow.deployments.fence(dep.id, dep.attempt)
            row = await uow.deployments.get(dep.id)
            _assign(row, dep, fields)
            await uow.deployments.save(row)
            await uow.commit()
        if "stage" in fields or "status" in fields:
            await self._stage_changed(dep, fields)

    async def record_stage(self, run: RunState, stage: str, outcome: str, detail: str, *,
                           current: DeploymentStage | None = None) -> DeploymentStageRecord:
        """Store a stage record, with the stages that ended before it and the run's
        opening fields; with ``current``, the deployment's current stage changes in the
        same transaction (and ``deployment.stage_changed`` is published)."""
        record = self.new_stage_record(run, stage, outcome, detail)
        dep, opening = run.deployment, run.opening
        fields = {**opening, **({"stage": current} if current is not None else {})}
        with _taking_ended(run) as ended:  # a stage ending meanwhile waits for the next
            async with self._ctx.backend.unit_of_work() as uow:
                await uow.deployments.fence(dep.id, dep.attempt)
                await _save_stages(uow, ended)
                await uow.deployments.save_stage(record)
                if fields:
                    row = await uow.deployments.get(dep.id)
                    _assign(row, dep, fields)
                    await uow.deployments.save(row)
                await uow.commit()
        run.opening = {}
        if fields:
            await self._stage_changed(dep, fields)
        return record

    def new_stage_record(self, run: RunState, stage: str, outcome: str,
                         detail: str) -> DeploymentStageRecord:
        """The run's next stage record (not stored yet)."""
        run.stage_seq += 1
        now = self._ctx.clock()
        ended = now if outcome != StageOutcome.RUNNING else None
        return DeploymentStageRecord(run.deployment.id, run.stage_seq, stage, now, ended,
                                     outcome, detail)

    async def end_stage(self, run: RunState, record: DeploymentStageRecord, outcome: str,
                        detail: str, *, defer: bool = False) -> None:
        """End a stage record; ``defer``: store it with the run's next write."""
        record.finished_at = self._ctx.clock()
        record.outcome = outcome
        record.detail = run.logs.redact(detail)[:2000]
        run.ended.append(record)
        if defer:
            return
        with _taking_ended(run) as ended:
            async with self._ctx.backend.unit_of_work() as uow:
                await uow.deployments.fence(run.deployment.id, run.deployment.attempt)
                await _save_stages(uow, ended)
                await uow.commit()

    async def publish_stage(self, dep: Deployment) -> None:
        """Tell every window the stages of ``dep`` changed (status and stage unchanged)."""
        await self._stage_changed(dep, {})

    async def finish(self, run: RunState, status: DeploymentStatus, error: str | None,
                     *, note: str | None = None) -> None:
        ended, run.ended = run.ended, []
        opening, run.opening = run.opening, {}
        await self.finish_deployment(run.deployment, run.logs, status, error, note=note,
                                     stage_records=ended, opening=opening)

    async def finish_deployment(self, dep: Deployment, logs: LogWriter,
                                status: DeploymentStatus, error: str | None,
                                *, note: str | None = None,
                                stage_records: Sequence[DeploymentStageRecord] = (),
                                opening: Mapping[str, Any] | None = None) -> None:
        """Store the final status (with ``stage_records`` and the run's ``opening``
        fields when no stage stored them, in the same transaction), its audit row, and
        publish ``deployment.finished``."""
        error = logs.redact(error) if error else error
        note = logs.redact(note) if note else note
        if error:
            logs.add("stderr", f"Deployment {words(status)}: {error}")
        else:
            logs.system(f"Deployment {words(status)}" + (f": {note}" if note else ""))
        await logs.flush()
        now = self._ctx.clock()
        async with self._ctx.services.transaction() as scope:
            await scope.uow.deployments.fence(dep.id, dep.attempt)
            await _save_stages(scope.uow, stage_records)
            row = await scope.uow.deployments.get(dep.id)
            _assign(row, dep, {**(opening or {}), "status": status, "error": error,
                               "finished_at": now})
            if status is DeploymentStatus.SUCCEEDED:
                row.stage = dep.stage = DeploymentStage.DONE
                # A cancel asked too late is moot now; one asked from here on is an
                # action on the project, which ends the watch.
                row.cancel_requested_at = dep.cancel_requested_at = None
            await scope.uow.deployments.save(row)
            payload = await _finished(scope.uow, dep, status, error)
            scope.record(payload.TYPE, "deployment", dep.id, payload.to_data(),
                         organization_id=dep.organization_id, actor_id=dep.actor_id)

    async def fail_unstarted(self, dep: Deployment, error: str,
                             status: DeploymentStatus = DeploymentStatus.FAILED) -> None:
        """End a deployment that never reached the target (one event, no stages)."""
        error = mask(error, await self.secret_values(dep))
        async with self._ctx.backend.unit_of_work() as uow:
            await uow.deployments.fence(dep.id, dep.attempt)
            row = await uow.deployments.get(dep.id)
            _assign(row, dep, {"status": status, "error": error,
                               "finished_at": self._ctx.clock()})
            await uow.deployments.save(row)
            payload = await _finished(uow, dep, status, error)
            await uow.commit()
        # Not audited: nothing ran (the request that made it is in the audit).
        await self._ctx.publish(deployment_event(dep, payload.TYPE, payload.to_data()))

    async def _stage_changed(self, dep: Deployment, fields: Mapping[str, Any]) -> None:
        started = dep.started_at.isoformat() \
            if "started_at" in fields and dep.started_at is not None else None
        payload = DeploymentStageChanged(dep.status.value,
                                         dep.stage.value if dep.stage else None, started)
        await self._ctx.publish(deployment_event(dep, payload.TYPE, payload.to_data()))


@contextmanager
def _taking_ended(run: RunState) -> Iterator[list[DeploymentStageRecord]]:
    """The run's ended stage records, taken for one write; put back (first) when the
    write fails. Records that end during the write stay for the next one."""
    ended, run.ended = run.ended, []
    try:
        yield ended
    except BaseException:
        run.ended[:0] = ended
        raise


def _assign(row: Deployment, dep: Deployment, fields: Mapping[str, Any]) -> None:
    """Set ``fields`` on the stored row and on the run's copy alike; a status move the
    flow table does not know is refused (nothing is stored)."""
    status = fields.get("status")
    if status is not None and not may_move(row.status, status):
        raise ConflictError(f"deployment {row.id} cannot go from {row.status.value} to "
                            f"{status.value}")
    for key, value in fields.items():
        setattr(row, key, value)
        setattr(dep, key, value)


def is_running_watch(record: DeploymentStageRecord) -> bool:
    return record.stage == StageName.WATCH and record.outcome == StageOutcome.RUNNING


async def _save_stages(uow: UnitOfWork, records: Sequence[DeploymentStageRecord]) -> None:
    for record in records:
        await uow.deployments.save_stage(record)


async def _finished(uow: UnitOfWork, dep: Deployment, status: DeploymentStatus,
                    error: str | None) -> DeploymentFinished:
    """The ``deployment.finished`` payload, with the stack's and the target's names (the
    windows that show it may never have seen either being made)."""
    stack = await uow.stacks.get(dep.stack_id)
    target = await uow.targets.get(dep.target_id)
    return DeploymentFinished(
        status=status.value, error=error, stack_id=str(dep.stack_id),
        target_id=str(dep.target_id), stack_name=stack.name, target_name=target.name,
        stage=dep.stage.value if dep.stage else None)
