"""``DriftService``: the WindFlow deployments of a target whose Compose project no longer
matches what they deployed — a service's container removed or stopped by hand, a
container added to the project by hand, a service running another image than the
revision names — each difference said in words. Read-only: putting it back is a redeploy
of the revision, keeping the change is adopting it as a new revision."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from ..domain.containers import ContainerInfo, Drift
from ..domain.enums import DeploymentStatus
from ..domain.identity import Principal
from ..domain.models import Deployment
from ..domain.permissions import TARGETS_READ
from ..engine.compose_model import normalize_image
from ..engine.pool import ExecutorPool
from ..engine.safe_yaml import load_bounded
from .common import ServiceContext


class DriftService:
    def __init__(self, context: ServiceContext, pool: ExecutorPool) -> None:
        self.ctx = context
        self.pool = pool

    async def check(self, principal: Principal, target_id: uuid.UUID) -> tuple[Drift, ...]:
        """One line per succeeded deployment that holds a project on the target."""
        async with self.ctx.authorized(principal, TARGETS_READ) as scope:
            target = await scope.target(target_id)
            newest = await scope.uow.deployments.newest_per_project(
                scope.org, [DeploymentStatus.SUCCEEDED, DeploymentStatus.STOPPED,
                            DeploymentStatus.REMOVED, DeploymentStatus.ROLLED_BACK,
                            DeploymentStatus.FAILED])
            held = [d for d in newest if d.target_id == target_id
                    and d.status is DeploymentStatus.SUCCEEDED]
            plans: list[tuple[Deployment, str, dict[str, Any]]] = []
            for dep in held:
                revision = await scope.uow.stacks.get_revision_by_id(dep.revision_id)
                stack = await scope.stack(dep.stack_id)
                plans.append((dep, stack.name, _services(revision.compose_yaml)))
        by_project: dict[str, list[ContainerInfo]] = defaultdict(list)
        async with self.pool.docker(target) as api:
            for container in await api.containers(all=True):
                if container.project:
                    by_project[container.project].append(container)
        return tuple(Drift(dep.id, dep.project_name, name,
                           _differences(services, by_project.get(dep.project_name, [])))
                     for dep, name, services in plans)


def _services(compose_yaml: str) -> dict[str, Any]:
    """The revision's services by name (their images where the text names one)."""
    model = load_bounded(compose_yaml) or {}
    services = model.get("services") if isinstance(model, dict) else None
    return {str(name): spec or {} for name, spec in (services or {}).items()}


def _differences(services: dict[str, Any], containers: list[ContainerInfo]
                 ) -> tuple[str, ...]:
    out: list[str] = []
    running: dict[str, list[ContainerInfo]] = defaultdict(list)
    for container in containers:
        running[container.service].append(container)
    for name, spec in services.items():
        replicas = ((spec.get("deploy") or {}) if isinstance(spec, dict) else {}).get("replicas")
        if replicas is not None and int(replicas) == 0:
            continue
        mine = running.get(name, [])
        if not mine:
            out.append(f"{name}: its container is gone (removed by hand?)")
            continue
        stopped = [c for c in mine if not c.running]
        if stopped:
            out.append(f"{name}: {stopped[0].name} is {stopped[0].state} "
                       f"({stopped[0].status or 'stopped'})")
        image = str(spec.get("image") or "") if isinstance(spec, dict) else ""
        if image and "$" not in image:
            other = [c for c in mine if normalize_image(c.image) != normalize_image(image)
                     and not c.image.startswith("sha256:")]
            if other:
                out.append(f"{name}: runs {other[0].image}, the revision says {image}")
    for service, extra in sorted(running.items()):
        if service not in services:
            out.append(f"{extra[0].name}: added to the project by hand (service "
                       f"{service or 'unnamed'} is not in the revision)")
    return tuple(out)
