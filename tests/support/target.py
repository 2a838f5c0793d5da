"""Fixtures for the target tests (a pytest plugin listed in ``tests/conftest.py``):
``target_world`` builds the target and container services over a SQLite workspace, the
session's real dockerd and sshd, an in-memory keyring and a recording bus, with an
owner and a viewer in one organization."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.env.docker import DockerEngine
from tests.env.keyring_backend import MemoryKeyring
from tests.env.sshd import SshServer
from tests.support.auth import Clock, RecordingBus, add_member, add_org
from windflow_desktop.domain.enums import Role, TargetAuth, TargetKind
from windflow_desktop.domain.identity import Principal
from windflow_desktop.domain.models import HostKeyPrompt
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.engine.pool import EngineSettings, ExecutorPool
from windflow_desktop.engine.ssh import KnownHosts, SshSettings
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.containers import ContainerService
from windflow_desktop.services.targets import TargetService

CONNECT_TIMEOUT_S = 2.0


def engine_settings(timeout: float = CONNECT_TIMEOUT_S) -> EngineSettings:
    # config_paths=[]: root's own ~/.ssh/config must not steer the tests.
    return EngineSettings(
        ssh=SshSettings(connect_timeout_s=timeout, command_timeout_s=30, config_paths=[]),
        docker_request_timeout_s=10, docker_connect_timeout_s=timeout,
    )


@dataclass
class HostKeyAnswers:
    """The host-key confirmation callback: records every prompt, answers ``accept``."""

    accept: bool = True
    prompts: list[HostKeyPrompt] = field(default_factory=list)

    async def __call__(self, prompt: HostKeyPrompt) -> bool:
        self.prompts.append(prompt)
        return self.accept


@dataclass
class TargetWorld:
    backend: SqlBackend
    bus: RecordingBus
    clock: Clock
    keyring: MemoryKeyring
    secrets: SecretStore
    pool: ExecutorPool
    answers: HostKeyAnswers
    targets: TargetService
    containers: ContainerService
    owner: Principal
    viewer: Principal
    docker: DockerEngine
    sshd: SshServer
    folder: Path

    def ssh_spec(self, name: str = "ssh", **kw: object) -> TargetSpec:
        values: dict[str, object] = {
            "name": name, "kind": TargetKind.SSH, "host": self.sshd.host,
            "port": self.sshd.port, "username": self.sshd.user, "auth": TargetAuth.KEY,
            "key_file": str(self.sshd.client_key),
        }
        values.update(kw)
        return TargetSpec(**values)  # type: ignore[arg-type]

    def local_spec(self, name: str = "local", socket: str | None = None) -> TargetSpec:
        return TargetSpec(name=name, kind=TargetKind.LOCAL,
                          docker_socket=socket or self.docker.host)

    def tls_spec(self, name: str = "tls", ca: Path | None = None) -> TargetSpec:
        tls = self.docker.tls
        return TargetSpec(name=name, kind=TargetKind.DOCKER_TCP, host="127.0.0.1",
                          port=self.docker.tls_port, ca_file=str(ca or tls.ca),
                          cert_file=str(tls.client_cert), client_key_file=str(tls.client_key))


async def build_world(
    backend: SqlBackend, docker: DockerEngine, sshd: SshServer, folder: Path,
    settings: EngineSettings | None = None,
) -> TargetWorld:
    bus, clock, ring = RecordingBus(), Clock(), MemoryKeyring()
    secrets = SecretStore(ring)
    answers = HostKeyAnswers()
    pool = ExecutorPool(KnownHosts(folder / "known_hosts"), secrets.aget,
                        settings=settings or engine_settings(), confirm_host_key=answers)
    ctx = ServiceContext(backend, bus, clock=clock)
    org = await add_org(backend, f"org{uuid.uuid4().hex[:6]}")
    owner = await add_member(backend, org.id, f"owner{uuid.uuid4().hex[:6]}", Role.OWNER)
    viewer = await add_member(backend, org.id, f"viewer{uuid.uuid4().hex[:6]}", Role.VIEWER)
    return TargetWorld(backend, bus, clock, ring, secrets, pool, answers,
                       TargetService(ctx, secrets, pool), ContainerService(ctx, pool, secrets),
                       owner, viewer, docker, sshd, folder)


@pytest.fixture
async def target_world(
    tmp_path: Path, docker_engine: DockerEngine, sshd_server: SshServer
) -> AsyncIterator[TargetWorld]:
    backend = SqlBackend(f"sqlite+aiosqlite:///{tmp_path / 'workspace.db'}")
    await backend.open()
    world = await build_world(backend, docker_engine, sshd_server, tmp_path)
    try:
        yield world
    finally:
        await world.pool.close()
        await backend.close()
