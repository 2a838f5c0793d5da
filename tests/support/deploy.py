"""Shared pieces of the deployment tests: the 3-service busybox stack, a Compose v2
plugin folder, executors per target, and a service graph over a real engine (with
``local_deploy_graph``: on a SQLite workspace, with a local target on a test engine)."""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import compose

from tests.env.docker import DockerEngine
from tests.env.keyring_backend import MemoryKeyring
from tests.support.auth import RecordingBus, add_member, add_org
from tests.support.databases import sqlite_url
from windflow_desktop.domain.enums import Role, TargetAuth, TargetKind
from windflow_desktop.domain.errors import TargetUnreachableError
from windflow_desktop.domain.identity import Principal
from windflow_desktop.domain.models import Deployment, Target
from windflow_desktop.engine.executor import Executor, LocalExecutor
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.deploy.context import PipelineSettings
from windflow_desktop.services.deploy.core import DeploymentCore
from windflow_desktop.services.deployments import DeploymentService
from windflow_desktop.services.stacks import StackService

STACK = """\
services:
  web:
    image: localhost/busybox
    command:
      - sh
      - -c
      - mkdir -p /www && echo "$$GREETING" > /www/index.html && exec httpd -f -p 8080 -h /www
    environment:
      GREETING: "${GREETING}"
      ADMIN_PASSWORD: "${ADMIN_PASSWORD}"
    ports: ["127.0.0.1:${WEB_PORT}:8080"]
    volumes: ["data:/data"]
    networks: [back]
    stop_signal: SIGKILL
  worker:
    image: localhost/busybox
    command: ["sh", "-c", "while true; do date >> /data/beat; sleep 1; done"]
    volumes: ["data:/data"]
    networks: [back]
    stop_signal: SIGKILL
    depends_on: [web]
  cache:
    image: localhost/busybox
    command: ["sleep", "1000000"]
    networks: [back]
    stop_signal: SIGKILL
volumes:
  data: {}
networks:
  back: {}
"""
BROKEN = STACK.replace(
    'command: ["sh", "-c", "while true; do date >> /data/beat; sleep 1; done"]',
    'command: ["sh", "-c", "echo worker cannot start >&2; exit 3"]')
VARIABLES = [
    {"name": "GREETING", "required": True},
    {"name": "WEB_PORT", "required": True},
    {"name": "ADMIN_PASSWORD", "secret": True, "generator": "password"},
]


def compose_v2_config(base: Path) -> Path:
    """A ``DOCKER_CONFIG`` folder whose cli-plugins hold the Compose v2 binary."""
    plugins = base / "docker-config" / "cli-plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    binary = Path(os.path.dirname(compose.__file__)) / "docker-compose"
    target = plugins / "docker-compose"
    if not target.exists():
        shutil.copy2(binary, target)
        target.chmod(0o755)
    return plugins.parent


def http_get(port: int, timeout: float = 5) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=timeout) as resp:
        return resp.read().decode().strip()


class Executors:
    def __init__(self) -> None:
        self.by_target: dict[uuid.UUID, Executor] = {}
        # target → what asking for its executor raises (a bug, a broken pool, …)
        self.raises: dict[uuid.UUID, BaseException] = {}

    async def executor(self, target: Target) -> Executor:
        if target.id in self.raises:
            raise self.raises[target.id]
        if target.id not in self.by_target:  # like a pool that cannot reach the target
            raise TargetUnreachableError(f"{target.name} cannot be reached")
        return self.by_target[target.id]


@dataclass
class DeployGraph:
    backend: SqlBackend
    bus: RecordingBus
    keyring: MemoryKeyring
    secrets: SecretStore
    executors: Executors
    core: DeploymentCore
    stacks: StackService
    deployments: DeploymentService
    admin: Principal
    org_id: uuid.UUID

    async def settled(self, dep: Deployment) -> Deployment:
        """``dep`` once the watch after its success (if any) has ended: a service that
        dies right after ``up`` is caught by health or, a moment later, by the watch."""
        await self.core.watching(dep.id)
        return await self.core.get(dep.id)

    async def add_target(self, name: str, executor: Executor,
                         kind: TargetKind = TargetKind.LOCAL, host: str = "") -> Target:
        async with self.backend.unit_of_work() as uow:
            target = await uow.targets.add(Target(
                organization_id=self.org_id, name=name, kind=kind, host=host,
                auth=TargetAuth.NONE))
            await uow.commit()
        self.executors.by_target[target.id] = executor
        return target


async def build_graph(backend: SqlBackend, projects_root: Path,
                      settings: Mapping[str, object] | None = None) -> DeployGraph:
    bus, ring = RecordingBus(), MemoryKeyring()
    secrets = SecretStore(ring)
    ctx = ServiceContext(backend, bus)
    executors = Executors()
    core = DeploymentCore(
        backend, bus, executors, secrets,
        settings=PipelineSettings(projects_root=lambda t: str(projects_root),
                                  **dict(settings or {})),  # type: ignore[arg-type]
    )
    org = await add_org(backend, f"Org{uuid.uuid4().hex[:6]}")
    admin = await add_member(backend, org.id, f"ada{uuid.uuid4().hex[:6]}", Role.ADMIN)
    return DeployGraph(backend, bus, ring, secrets, executors, core, StackService(ctx),
                       DeploymentService(ctx, core, secrets), admin, org.id)


@asynccontextmanager
async def local_deploy_graph(tmp_path: Path, engine: DockerEngine,
                             settings: Mapping[str, object] | None = None,
                             ) -> AsyncIterator[tuple[DeployGraph, Target]]:
    """A service graph on a new SQLite workspace (``tmp_path/w.db``, projects under
    ``tmp_path/projects``) and a local target "here" on ``engine`` with the Compose v2
    plugin; on the way out the deployment service is shut down, then the backend closed."""
    backend = SqlBackend(sqlite_url(tmp_path / "w.db"))
    await backend.open()
    g: DeployGraph | None = None
    try:
        g = await build_graph(backend, tmp_path / "projects", settings)
        target = await g.add_target("here", LocalExecutor(env={
            "DOCKER_HOST": engine.host,
            "DOCKER_CONFIG": str(compose_v2_config(tmp_path))}))
        yield g, target
    finally:
        if g is not None:
            await g.deployments.shutdown()
        await backend.close()


def container_env(engine: DockerEngine, project: str) -> dict[str, str]:
    """The environment (``Config.Env``) of the one container of ``project``."""
    [cid] = engine.cli("ps", "-q", "--filter",
                       f"label=com.docker.compose.project={project}").split()
    [info] = json.loads(engine.cli("inspect", cid))
    return dict(item.split("=", 1) for item in info["Config"]["Env"])
