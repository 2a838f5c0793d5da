"""``containers.inspect`` on the real engine: a deployed secret value is masked wherever
it appears (even under a harmless name), values of variables whose names say secret
are masked, the rest is shown; the raw view needs ``containers:manage``. The container's
log (read or followed) masks the deployed secret values too."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest

from tests.env.docker import DockerEngine
from tests.support.auth import add_member
from tests.support.deploy import local_deploy_graph
from windflow_desktop.domain.enums import DeploymentStatus, Role
from windflow_desktop.domain.errors import PermissionDeniedError
from windflow_desktop.engine import ExecutorPool, KnownHosts
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.containers import ContainerService
from windflow_desktop.services.deploy.values import SECRET_REF

ENV_STACK = """\
services:
  app:
    image: localhost/busybox
    command: ["sh", "-c", "echo seeded with $$WELCOME_TEXT; exec sleep 600"]
    stop_signal: SIGKILL
    environment:
      GREETING: "${GREETING}"
      WELCOME_TEXT: "${API_SEED}"
      DB_PASSWORD: not-a-stack-secret-but-named-so
    labels:
      note: "seeded with ${API_SEED}"
"""
ENV_VARIABLES = [
    {"name": "GREETING", "required": True},
    {"name": "API_SEED", "secret": True, "generator": "password"},
]


def env_of(info: dict[str, object]) -> dict[str, str]:
    config = info["Config"]
    assert isinstance(config, dict)
    return dict(entry.split("=", 1) for entry in config["Env"])


async def test_inspect_masks_deployed_secrets_and_raw_needs_manage(
        docker_engine: DockerEngine, tmp_path: Path) -> None:
    async with local_deploy_graph(tmp_path, docker_engine, {"watch_s": 0}) as (g, target):
        async with g.backend.unit_of_work() as uow:  # the Docker API reaches the test engine
            row = await uow.targets.get(target.id)
            row.docker_socket = docker_engine.host
            await uow.targets.save(row)
            await uow.commit()
        stack, _ = await g.stacks.create_stack(g.admin, name="Env", compose_yaml=ENV_STACK,
                                               variables=ENV_VARIABLES)
        rollout = await g.deployments.deploy(g.admin, stack.id, [target.id],
                                             variables={"GREETING": "hello there"})
        [dep] = await rollout.wait()
        assert dep.status is DeploymentStatus.SUCCEEDED, dep.error
        ref = dep.variables["API_SEED"]
        assert isinstance(ref, dict)
        seed = g.keyring.get_password("windflow-desktop", str(ref[SECRET_REF]))
        assert seed
        container_id = docker_engine.cli(
            "ps", "-q", "--filter", f"label=com.docker.compose.project={dep.project_name}"
        ).strip()
        pool = ExecutorPool(KnownHosts(tmp_path / "known_hosts"), g.secrets.aget)
        containers = ContainerService(ServiceContext(g.backend, g.bus), pool, g.secrets)
        viewer = await add_member(g.backend, g.org_id, f"v{uuid.uuid4().hex[:6]}", Role.VIEWER)
        try:
            for who in (viewer, g.admin):
                info = await containers.inspect(who, target.id, container_id)
                env = env_of(info)
                assert env["WELCOME_TEXT"] == "********"  # a known secret, harmless name
                assert env["DB_PASSWORD"] == "********"  # a name that says secret
                assert env["GREETING"] == "hello there"
                assert info["Config"]["Labels"]["note"] == "seeded with ********"
                assert seed not in json.dumps(info)
                assert info["State"]["Running"]

            # The container printed the secret: its log shows it masked, read or followed.
            async def seeded_line() -> str:
                async for line in containers.follow_logs(viewer, target.id, container_id):
                    if "seeded with" in line:
                        return line
                raise AssertionError("the container's output ended without the line")

            followed = await asyncio.wait_for(seeded_line(), 30)
            assert seed not in followed and "seeded with ********" in followed
            read = "\n".join(await containers.logs(viewer, target.id, container_id))
            assert seed not in read and "seeded with ********" in read

            raw = await containers.inspect(g.admin, target.id, container_id, raw=True)
            assert env_of(raw)["WELCOME_TEXT"] == seed
            assert env_of(raw)["DB_PASSWORD"] == "not-a-stack-secret-but-named-so"
            with pytest.raises(PermissionDeniedError):
                await containers.inspect(viewer, target.id, container_id, raw=True)
        finally:
            await pool.close()
            await g.deployments.remove(g.admin, dep.id, volumes=True)
