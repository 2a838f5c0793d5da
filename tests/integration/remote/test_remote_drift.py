"""``RemoteDrift`` against a real ``windflow serve`` and a real Docker engine: the drift
the server finds on its target reaches the desktop in words — a container recreated by
hand (another Compose config hash than the one ``up`` recorded) and one stopped, named —
and the recorded hashes and image ids come with the deployment (``RemoteDeployments``);
a viewer may read the drift too (``targets:read``)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.env.docker import BUSYBOX_IMAGE, DockerEngine
from tests.support.server import PASSWORD, Server, bearer, create_owner, running_server, sign_in
from windflow_desktop.domain.enums import DeploymentStage, DeploymentStatus, Role, TargetKind
from windflow_desktop.domain.identity import Principal
from windflow_desktop.domain.models import Deployment
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.remote.client import ServerSession
from windflow_desktop.remote.deployments import RemoteDeployments
from windflow_desktop.remote.stacks import RemoteStacks
from windflow_desktop.remote.targets import RemoteTargets
from windflow_desktop.remote.updates import RemoteDrift
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.services.drift import CONFIG_HASH_LABEL

pytestmark = pytest.mark.docker

NOBODY = Principal(uuid.uuid4(), uuid.uuid4(), Role.VIEWER)
STACK = """\
services:
  web:
    image: localhost/busybox
    command: ["sleep", "1000000"]
  worker:
    image: localhost/busybox
    command: ["sleep", "1000000"]
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """A server of ``olga`` (owner) and ``vera`` (viewer) of Acme, and its home."""
    home = tmp_path_factory.mktemp("server")
    create_owner(home)
    with running_server(home) as server, server.client() as http:
        owner = bearer(sign_in(http, "olga")["access_token"])
        made = http.post("/api/v1/users", headers=owner, json={
            "username": "vera", "email": "vera@example.test", "password": PASSWORD})
        assert made.status_code == 201, made.text
        yield server, home


async def _record(home: Path, dep: Deployment) -> None:
    """The deployment as the server's deployment core records it after ``up``, written
    into the server's workspace (no worker runs in this test)."""
    backend = SqlBackend(f"sqlite+aiosqlite:///{home / 'workspace.db'}")
    await backend.open()
    try:
        async with backend.unit_of_work() as uow:
            await uow.deployments.add(dep)
            await uow.commit()
    finally:
        await backend.close()


async def test_the_servers_drift_reaches_the_desktop(
        served: tuple[Server, Path], docker_engine: DockerEngine) -> None:
    server, home = served
    olga, vera = ServerSession(server.url), ServerSession(server.url)
    await olga.login("olga", PASSWORD)
    await vera.login("vera", PASSWORD)
    project = f"wf-shop-{uuid.uuid4().hex[:8]}"
    started: list[str] = []
    try:
        target = await RemoteTargets(olga).create_target(NOBODY, TargetSpec(
            name=f"engine-{uuid.uuid4().hex[:6]}", kind=TargetKind.LOCAL,
            docker_socket=docker_engine.host))
        stack, revision = await RemoteStacks(olga).create_stack(NOBODY, name="Shop",
                                                                 compose_yaml=STACK)
        image_id = (await asyncio.to_thread(docker_engine.cli, "image", "inspect", "-f",
                                            "{{.Id}}", BUSYBOX_IMAGE)).strip()
        dep = Deployment(organization_id=stack.organization_id, stack_id=stack.id,
                         revision_id=revision.id, target_id=target.id, project_name=project,
                         status=DeploymentStatus.SUCCEEDED, stage=DeploymentStage.DONE,
                         config_hashes={"web": "as-deployed", "worker": "as-deployed"},
                         image_ids={"web": image_id, "worker": image_id})
        await _record(home, dep)
        for service, config_hash in (("web", "recreated-by-hand"), ("worker", "as-deployed")):
            started.append((await asyncio.to_thread(
                docker_engine.cli, "run", "-d", "--name", f"{project}-{service}-1",
                "--network", "none", "--stop-signal", "SIGKILL",
                "--label", f"com.docker.compose.project={project}",
                "--label", f"com.docker.compose.service={service}",
                "--label", f"{CONFIG_HASH_LABEL}={config_hash}",
                BUSYBOX_IMAGE, "sleep", "1000000")).strip())
        await asyncio.to_thread(docker_engine.cli, "stop", started[1])

        fetched = await RemoteDeployments(olga).get(NOBODY, dep.id)
        assert fetched.config_hashes == dep.config_hashes
        assert fetched.image_ids == dep.image_ids

        for session in (olga, vera):
            [drift] = await RemoteDrift(session).check(NOBODY, target.id)
            assert drift.deployment_id == dep.id and drift.stack_name == "Shop"
            assert drift.project == project
            assert drift.differences == (
                f"web: its configuration was changed by hand ({project}-web-1 was "
                "recreated outside WindFlow)",
                f"worker: {project}-worker-1 is exited (exit code 137)",
            ), drift.differences
    finally:
        if started:
            await asyncio.to_thread(docker_engine.cli, "rm", "-f", *started, check=False)
        await olga.close()
        await vera.close()
