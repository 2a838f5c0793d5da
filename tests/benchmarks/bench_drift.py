"""Drift scan of one busy target (issue #15):

- ``drift_scan_ms``: ``DriftService.check`` of one target running 100 WindFlow projects
  (300 containers, 3 services each) on a dockerd of its own, median of 5 (goal ≤ 1,500),
  with the service kept as the app keeps it (the revisions parsed once);
- ``drift_scan_first_ms``: the first check of a fresh service (every revision parsed);
- ``drift_scan_drifted``: how many deployments the check found changed (must be 0: the
  containers carry what the deployments recorded) — a check that finds nothing because it
  looked at nothing would show up as a figure far below the engine's list time, so also
  ``drift_list_ms``: the engine's containers list alone (the one round-trip), median of 5.

The containers are made through the Engine API (create + start, 16 at a time) with the
labels Compose gives them (project, service, config hash); the deployments, stacks and
revisions are written straight into a SQLite workspace with the hashes and image ids
``up`` would have recorded.
"""

from __future__ import annotations

import asyncio
import hashlib
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from tests.env.docker import BUSYBOX_IMAGE, DockerEngine, start_docker
from tests.env.keyring_backend import MemoryKeyring
from windflow_desktop.domain.enums import DeploymentStage, DeploymentStatus, Role, TargetKind
from windflow_desktop.domain.identity import Principal
from windflow_desktop.domain.models import (
    Deployment,
    Membership,
    Organization,
    Stack,
    StackRevision,
    Target,
    User,
)
from windflow_desktop.engine.docker_api import DockerApi
from windflow_desktop.engine.pool import ExecutorPool
from windflow_desktop.engine.ssh import KnownHosts
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.drift import CONFIG_HASH_LABEL, DriftService

from . import benchmark

PROJECTS = 100
SERVICES = ("web", "worker", "cache")
RUNS = 5

COMPOSE = """\
services:
  web:
    image: localhost/busybox
    command: ["sleep", "1000000"]
    stop_signal: SIGKILL
  worker:
    image: localhost/busybox
    command: ["sleep", "1000000"]
    stop_signal: SIGKILL
  cache:
    image: localhost/busybox
    command: ["sleep", "1000000"]
    stop_signal: SIGKILL
"""


class _NullBus:
    async def publish(self, event: object) -> None:
        return None


def _hash(project: str, service: str) -> str:
    return hashlib.sha256(f"{project}/{service}".encode()).hexdigest()


async def _containers(engine: DockerEngine, projects: list[str]) -> str:
    """300 running containers labelled as Compose labels them; returns the image id."""
    import aiodocker

    docker = aiodocker.Docker(url=engine.host)
    try:
        image_id = str((await docker.images.inspect(BUSYBOX_IMAGE))["Id"])
        gate = asyncio.Semaphore(16)

        async def one(project: str, service: str) -> None:
            async with gate:
                container = await docker.containers.create(config={
                    "Image": BUSYBOX_IMAGE, "Cmd": ["sleep", "1000000"],
                    "StopSignal": "SIGKILL",
                    "Labels": {"com.docker.compose.project": project,
                               "com.docker.compose.service": service,
                               "com.docker.compose.container-number": "1",
                               "com.docker.compose.oneoff": "False",
                               CONFIG_HASH_LABEL: _hash(project, service)},
                    "HostConfig": {"NetworkMode": "none"},
                }, name=f"{project}-{service}-1")
                await container.start()

        await asyncio.gather(*(one(p, s) for p in projects for s in SERVICES))
        return image_id
    finally:
        await docker.close()


async def _workspace(backend: SqlBackend, engine: DockerEngine, projects: list[str],
                     image_id: str) -> tuple[Principal, uuid.UUID]:
    async with backend.unit_of_work() as uow:
        org = await uow.organizations.add(Organization(name="Bench", slug="bench"))
        user = await uow.users.add(User(username="bench", email="bench@x.test"))
        await uow.memberships.save(Membership(user.id, org.id, Role.OWNER))
        target = await uow.targets.add(Target(organization_id=org.id, name="busy",
                                              kind=TargetKind.LOCAL,
                                              docker_socket=engine.host))
        for i, project in enumerate(projects):
            stack = await uow.stacks.add(Stack(organization_id=org.id, name=f"stack {i:03d}",
                                               slug=f"stack-{i:03d}", current_revision=1))
            revision = await uow.stacks.add_revision(StackRevision(stack.id, 1, COMPOSE))
            await uow.deployments.add(Deployment(
                organization_id=org.id, stack_id=stack.id, revision_id=revision.id,
                target_id=target.id, project_name=project,
                status=DeploymentStatus.SUCCEEDED, stage=DeploymentStage.DONE,
                config_hashes={s: _hash(project, s) for s in SERVICES},
                image_ids=dict.fromkeys(SERVICES, image_id)))
        await uow.commit()
    return Principal(user.id, org.id, Role.OWNER), target.id


@benchmark("drift_scan")
async def bench_drift_scan() -> dict[str, float]:
    engine = await asyncio.to_thread(start_docker)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            backend = SqlBackend(f"sqlite+aiosqlite:///{folder / 'workspace.db'}")
            await backend.open()
            try:
                return await _measure(backend, folder, engine)
            finally:
                await backend.close()
    finally:
        await asyncio.to_thread(engine.stop)


async def _measure(backend: SqlBackend, folder: Path, engine: DockerEngine
                   ) -> dict[str, float]:
    projects = [f"wf-stack-{i:03d}-{uuid.uuid4().hex[:8]}" for i in range(PROJECTS)]
    started = time.perf_counter()
    image_id = await _containers(engine, projects)
    made_s = time.perf_counter() - started
    owner, target_id = await _workspace(backend, engine, projects, image_id)
    pool = ExecutorPool(KnownHosts(folder / "known_hosts"), SecretStore(MemoryKeyring()).aget)
    try:
        context = ServiceContext(backend, _NullBus())

        async def timed(service: DriftService) -> tuple[float, Any]:
            began = time.perf_counter()
            found = await service.check(owner, target_id)
            return (time.perf_counter() - began) * 1000, found

        first_ms, found = await timed(DriftService(context, pool))
        if len(found) != PROJECTS:
            raise RuntimeError(f"the check saw {len(found)} deployments, not {PROJECTS}")
        drifted = [d for d in found if d.drifted]
        service = DriftService(context, pool)
        await timed(service)  # the app's service has parsed its revisions once
        times = []
        for _ in range(RUNS):
            ms, found = await timed(service)
            times.append(ms)
            drifted = [d for d in found if d.drifted] or drifted
        list_times = []
        for _ in range(RUNS):
            api = DockerApi(engine.host, label="bench")
            try:
                began = time.perf_counter()
                listed = await api.containers(all=True)
                list_times.append((time.perf_counter() - began) * 1000)
            finally:
                await api.close()
        if len(listed) != PROJECTS * len(SERVICES):
            raise RuntimeError(f"{len(listed)} containers listed")
    finally:
        await pool.close()
    if drifted:
        print(f"# drifted: {drifted[0].project}: {drifted[0].differences}")
    print(f"# {PROJECTS * len(SERVICES)} containers made in {made_s:.1f} s; scans "
          f"{', '.join(f'{t:.0f}' for t in times)} ms")
    return {
        "drift_scan_ms": round(statistics.median(times), 1),
        "drift_scan_first_ms": round(first_ms, 1),
        "drift_scan_drifted": len(drifted),
        "drift_list_ms": round(statistics.median(list_times), 1),
    }
