"""``DriftService``: the WindFlow deployments of a target whose Compose project no longer
matches what they deployed — a service's container removed or stopped by hand, a
container added to the project by hand, a service running another image than the
revision names, a container recreated outside WindFlow with another configuration (its
Compose config-hash label is not the one ``up`` gave it) or running another image than
the one deployed (the tag moved and someone recreated it) — each difference said in words.

One engine round-trip per target: a single containers list (labels and image ids come
with it) for every project; what ``up`` gave the containers was recorded with the
deployment (``Deployment.config_hashes``/``image_ids``), so nothing is inspected here.
Read-only: putting it back is a redeploy of the revision, keeping the change is adopting
it as a new revision. A project with a deployment under way is not judged (its containers
are being replaced)."""

from __future__ import annotations

import re
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

PARSED_KEPT = 1024
_EXIT_CODE = re.compile(r"\((-?\d+)\)")
CONFIG_HASH_LABEL = "com.docker.compose.config-hash"


class DriftService:
    def __init__(self, context: ServiceContext, pool: ExecutorPool) -> None:
        self.ctx = context
        self.pool = pool
        # Revisions never change: their services are parsed once (bounded).
        self._parsed: dict[uuid.UUID, dict[str, Any]] = {}

    async def check(self, principal: Principal, target_id: uuid.UUID) -> tuple[Drift, ...]:
        """One line per succeeded deployment that holds a project on the target."""
        async with self.ctx.authorized(principal, TARGETS_READ) as scope:
            target = await scope.target(target_id)
            newest = await scope.uow.deployments.newest_per_project(
                scope.org, [DeploymentStatus.SUCCEEDED, DeploymentStatus.STOPPED,
                            DeploymentStatus.REMOVED, DeploymentStatus.ROLLED_BACK,
                            DeploymentStatus.FAILED, DeploymentStatus.PENDING,
                            DeploymentStatus.RUNNING])
            held = [d for d in newest if d.target_id == target_id
                    and d.status is DeploymentStatus.SUCCEEDED]
            plans: list[tuple[Deployment, str, dict[str, Any]]] = []
            names: dict[uuid.UUID, str] = {}
            for dep in held:
                if dep.stack_id not in names:
                    names[dep.stack_id] = (await scope.stack(dep.stack_id)).name
                plans.append((dep, names[dep.stack_id], await self._services(scope, dep)))
        if not plans:
            return ()  # nothing of ours runs there: the engine is not asked
        by_project: dict[str, list[ContainerInfo]] = defaultdict(list)
        async with self.pool.docker(target) as api:
            for container in await api.containers(all=True):
                if container.project:
                    by_project[container.project].append(container)
        return tuple(Drift(dep.id, dep.project_name, name,
                           _differences(services, by_project.get(dep.project_name, []), dep))
                     for dep, name, services in plans)

    async def _services(self, scope: Any, dep: Deployment) -> dict[str, Any]:
        services = self._parsed.get(dep.revision_id)
        if services is None:
            revision = await scope.uow.stacks.get_revision_by_id(dep.revision_id)
            services = _services(revision.compose_yaml)
            if len(self._parsed) >= PARSED_KEPT:
                self._parsed.pop(next(iter(self._parsed)))
            self._parsed[dep.revision_id] = services
        return services


def _services(compose_yaml: str) -> dict[str, Any]:
    """The revision's services by name (their images where the text names one)."""
    model = load_bounded(compose_yaml) or {}
    services = model.get("services") if isinstance(model, dict) else None
    return {str(name): spec or {} for name, spec in (services or {}).items()}


def _differences(services: dict[str, Any], containers: list[ContainerInfo],
                 deployed: Deployment | None = None) -> tuple[str, ...]:
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
            # Words that stay the same from one check to the next (no "2 minutes ago"):
            # the same difference is told once.
            code = _EXIT_CODE.search(stopped[0].status)
            out.append(f"{name}: {stopped[0].name} is {stopped[0].state or 'stopped'}"
                       + (f" (exit code {code.group(1)})" if code else ""))
        image = str(spec.get("image") or "") if isinstance(spec, dict) else ""
        renamed = False
        if image and "$" not in image:
            other = [c for c in mine if normalize_image(c.image) != normalize_image(image)
                     and not c.image.startswith("sha256:")]
            if other:
                renamed = True
                out.append(f"{name}: runs {other[0].image}, the revision says {image}")
        if deployed is not None:
            out.extend(_against_up(name, mine, deployed, renamed))
    for service, extra in sorted(running.items()):
        if service not in services:
            out.append(f"{extra[0].name}: added to the project by hand (service "
                       f"{service or 'unnamed'} is not in the revision)")
    return tuple(out)


def _against_up(name: str, mine: list[ContainerInfo], deployed: Deployment,
                renamed: bool) -> list[str]:
    """What ``up`` gave the service's containers (recorded with the deployment) against
    what they carry now: another config hash, another image id."""
    out: list[str] = []
    recorded_hash = deployed.config_hashes.get(name, "")
    if recorded_hash:
        changed = [c for c in mine if c.labels.get(CONFIG_HASH_LABEL, recorded_hash)
                   != recorded_hash]
        if changed:
            out.append(f"{name}: its configuration was changed by hand ({changed[0].name} "
                       "was recreated outside WindFlow)")
    recorded_image = deployed.image_ids.get(name, "")
    if recorded_image and not renamed:
        moved = [c for c in mine if c.image_id and c.image_id != recorded_image]
        if moved:
            out.append(f"{name}: runs image {short_image(moved[0].image_id)}, deployed "
                       f"{short_image(recorded_image)}")
    return out


def short_image(image_id: str) -> str:
    """``sha256:0123456789ab…`` (an image id short enough to read)."""
    algorithm, _, digest = image_id.partition(":")
    if not digest:
        return image_id[:12] + "…"
    return f"{algorithm}:{digest[:12]}…"
