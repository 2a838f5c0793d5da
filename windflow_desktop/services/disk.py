"""``DiskService``: a target's images, volumes and networks — listed with what uses
them, removed one at a time, pruned after a preview — on every target kind, through the
same ``ExecutorPool.docker`` path as ``ContainerService``.

Reading (the preview too) needs ``targets:read``; removing and pruning need
``containers:manage`` and are audited (``image.removed``, ``volume.removed``,
``network.removed``, ``<kind>.pruned``) once the engine has done them.

A volume of a WindFlow deployment (a Compose project that is a deployment of this target
not taken down, or any project named the way WindFlow names them) is protected: never
pruned, and removing it is refused with the stack and deployment that use it
(``ConflictError``, code ``VOLUME_PROTECTED``).
"""

from __future__ import annotations

import dataclasses
import uuid

from ..domain.containers import (
    DiskKind,
    DiskUsage,
    ManagedProject,
    PrunePlan,
    PruneResult,
    prune_plan,
)
from ..domain.enums import DeploymentStatus
from ..domain.errors import ConflictError, NotFoundError
from ..domain.events import DiskCleaned, DockerObjectActed
from ..domain.identity import Principal
from ..domain.models import Target
from ..domain.permissions import CONTAINERS_MANAGE, TARGETS_READ
from ..engine import disk
from ..engine.docker_api import DockerApi
from ..engine.pool import ExecutorPool
from ..engine.project_names import PROJECT_NAME
from .common import Scope, ServiceContext

VOLUME_PROTECTED = "VOLUME_PROTECTED"


class DiskService:
    """Public API (all async, principal and target id first):

    ``usage(p, t) -> DiskUsage``, ``remove(p, t, kind, ref, force=False)``,
    ``prune_preview(p, t, kind) -> PrunePlan``, ``prune(p, t, kind) -> PruneResult``.
    """

    def __init__(self, context: ServiceContext, pool: ExecutorPool) -> None:
        self.ctx = context
        self.pool = pool

    async def usage(self, principal: Principal, target_id: uuid.UUID) -> DiskUsage:
        target, managed = await self._target(principal, TARGETS_READ, target_id)
        async with self.pool.docker(target) as api:
            return await _read(api, managed)

    async def remove(self, principal: Principal, target_id: uuid.UUID, kind: DiskKind,
                     ref: str, *, force: bool = False) -> None:
        """Remove one image (tag or id; ``force`` as ``docker rmi -f``), volume or
        network (name or id). A protected volume is refused before the engine is asked."""
        target, managed = await self._target(principal, CONTAINERS_MANAGE, target_id)
        async with self.pool.docker(target) as api:
            if kind is DiskKind.VOLUMES:
                usage = await _read(api, managed)
                volume = next((v for v in usage.volumes if v.name == ref), None)
                if volume is None:
                    raise NotFoundError("volume", ref)
                if volume.managed is not None:
                    raise ConflictError(
                        f"volume {ref} is not removed: it belongs to {volume.managed}; "
                        "remove that deployment first", code=VOLUME_PROTECTED)
            await disk.remove(api, kind, ref, force=force)
        if kind is DiskKind.IMAGES:
            data = DockerObjectActed(str(target.id), target.name).to_data()
        else:
            data = DiskCleaned(str(target.id), target.name, (ref,)).to_data()
        await self._audit(principal, f"{kind.singular}.removed", kind.singular, ref, data)

    async def prune_preview(self, principal: Principal, target_id: uuid.UUID,
                            kind: DiskKind) -> PrunePlan:
        """What ``prune`` would remove now and the bytes that frees (nothing is done)."""
        target, managed = await self._target(principal, TARGETS_READ, target_id)
        async with self.pool.docker(target) as api:
            return prune_plan(await _read(api, managed), kind)

    async def prune(self, principal: Principal, target_id: uuid.UUID,
                    kind: DiskKind) -> PruneResult:
        """Remove what is unused now (planned afresh, as ``prune_preview`` shows it);
        the bytes freed as the engine counts them."""
        target, managed = await self._target(principal, CONTAINERS_MANAGE, target_id)
        async with self.pool.docker(target) as api:
            usage = await _read(api, managed)
            result = await disk.prune(api, prune_plan(usage, kind), usage.layers_bytes)
        data = DiskCleaned(str(target.id), target.name, result.removed,
                           result.bytes_freed).to_data()
        await self._audit(principal, f"{kind.singular}.pruned", "target", target.id, data)
        return result

    # -- helpers -------------------------------------------------------------------------

    async def _target(self, principal: Principal, permission: str, target_id: uuid.UUID
                      ) -> tuple[Target, dict[str, ManagedProject | None]]:
        """The target and its deployments' projects: the project's newest deployment, or
        None when that one took the project down (its volumes are no longer protected)."""
        async with self.ctx.authorized(principal, permission) as scope:
            target = await scope.target(target_id)
            return target, await managed_projects(scope, target_id)

    async def _audit(self, principal: Principal, event: str, aggregate: str,
                     subject: object, data: dict[str, object]) -> None:
        async with self.ctx.authorized(principal, CONTAINERS_MANAGE) as scope:
            scope.record(event, aggregate, subject, data)


async def managed_projects(scope: Scope, target_id: uuid.UUID) -> dict[str, ManagedProject | None]:
    newest = await scope.uow.deployments.newest_per_project(scope.org, list(DeploymentStatus))
    projects: dict[str, ManagedProject | None] = {}
    for dep in newest:
        if dep.target_id != target_id:
            continue
        if dep.status is DeploymentStatus.REMOVED:
            projects[dep.project_name] = None
            continue
        try:
            stack_name = (await scope.stack(dep.stack_id)).name
        except NotFoundError:
            stack_name = ""
        projects[dep.project_name] = ManagedProject(dep.project_name, stack_name, dep.id)
    return projects


def _managed(project: str, known: dict[str, ManagedProject | None]) -> ManagedProject | None:
    if project in known:
        return known[project]
    # Named like WindFlow's projects but not this workspace's: another workspace's or a
    # server's deployment may own it, so it is protected all the same.
    return ManagedProject(project) if PROJECT_NAME.match(project) else None


async def _read(api: DockerApi, known: dict[str, ManagedProject | None]) -> DiskUsage:
    usage = await disk.read_usage(api)
    volumes = []
    for volume in usage.volumes:
        owners = [m for m in (_managed(p, known) for p in volume.projects) if m is not None]
        volumes.append(dataclasses.replace(volume, managed=owners[0]) if owners else volume)
    return dataclasses.replace(usage, volumes=tuple(volumes))
