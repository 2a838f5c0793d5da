"""``DeploymentCore``: runs, rolls back, stops, starts, removes, previews and reconciles
deployments — what the deployments service drives (and, later, a worker)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime

from ...domain.deployment_flow import Action
from ...domain.enums import DeploymentStatus
from ...domain.errors import WindFlowError
from ...domain.models import Deployment, DeployPreview, StackRevision, Target, utcnow
from ...repositories.protocols import Backend
from ..common import Publisher, ServiceContext
from . import lifecycle, preview, reconcile, run
from .context import CancelToken, DeployContext, ExecutorProvider, PipelineSettings, SecretReader
from .journal import Journal
from .runners import ProjectLocks, is_live, new_runner_id
from .values import resolve
from .watch import Watches


class DeploymentCore:
    def __init__(
        self,
        backend: Backend,
        bus: Publisher,
        executors: ExecutorProvider,
        secrets: SecretReader,
        *,
        settings: PipelineSettings | None = None,
        clock: Callable[[], datetime] = utcnow,
        runner: str | None = None,
    ) -> None:
        self.context = DeployContext(ServiceContext(backend, bus, clock=clock), executors,
                                     secrets, settings or PipelineSettings(),
                                     runner or new_runner_id())
        self.journal = Journal(self.context)
        self.locks = ProjectLocks()
        self.watches = Watches(self.context, self.journal, self.locks)

    @property
    def runner(self) -> str:
        return self.context.runner

    @property
    def settings(self) -> PipelineSettings:
        return self.context.settings

    async def run(self, deployment_id: uuid.UUID, cancel: CancelToken | None = None
                  ) -> Deployment:
        """Run a pending deployment to its end; returns it in its final state (its watch
        goes on in the background)."""
        ctx, journal = self.context, self.journal
        dep, target, revision = await journal.load(deployment_id)
        async with self.locks(dep.project_name):
            await self.watches.stop(dep.project_name,
                                    "a newer deployment of this project started")
            try:
                state = await run.open_run(ctx, journal, dep, target, revision,
                                           cancel or CancelToken())
            except WindFlowError as exc:  # no secret, no connection: nothing ran
                await journal.fail_unstarted(dep, exc.message)
                return await journal.get(deployment_id)
            try:
                await run.walk(ctx, journal, state)
            finally:
                await state.logs.close()
            if state.watch is not None:  # after the close: the watch's lines number on
                self.watches.start(state, state.watch)
        return await journal.get(deployment_id)

    async def fail_unstarted(self, dep: Deployment, error: str,
                             status: DeploymentStatus = DeploymentStatus.FAILED) -> None:
        await self.journal.fail_unstarted(dep, error, status)

    async def lifecycle(self, deployment_id: uuid.UUID, action: Action, *,
                        volumes: bool = False) -> Deployment:
        return await lifecycle.lifecycle(self.context, self.journal, self.locks,
                                         self.watches, deployment_id, action,
                                         volumes=volumes)

    async def preview(self, target: Target, revision: StackRevision,
                      values: Mapping[str, str], project: str | None = None) -> DeployPreview:
        return await preview.preview(self.context, target, revision, values, project)

    async def reconcile(self, deployment_id: uuid.UUID) -> Deployment:
        return await reconcile.reconcile(self.context, self.journal, deployment_id)

    async def get(self, deployment_id: uuid.UUID) -> Deployment:
        return await self.journal.get(deployment_id)

    async def resolve_values(self, dep: Deployment, *, missing: set[str] | None = None
                             ) -> dict[str, str]:
        return await resolve(self.context.secrets, dep.variables, missing=missing)

    def is_live(self, dep: Deployment) -> bool:
        """Whether a process may still run ``dep`` or watch it (see ``runners.is_live``)."""
        return is_live(dep, runner=self.runner, ours=lambda i: i in self.watched(),
                       now=self.context.clock(), stale_s=self.settings.runner_stale_s)

    def watched(self) -> set[uuid.UUID]:
        return self.watches.watched()

    async def watching(self, deployment_id: uuid.UUID) -> None:
        await self.watches.watching(deployment_id)

    async def stop_watch(self, project: str, reason: str) -> None:
        await self.watches.stop(project, reason)

    async def stop_watches(self, grace_s: float = 30.0) -> None:
        await self.watches.stop_all(grace_s)
