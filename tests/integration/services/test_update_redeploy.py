"""An update is a redeploy that pulls: a newer image pushed under the same tag is not
picked up by a plain redeploy (the target has an image by that name), but "update
images" pulls it and the service runs the new image — and the updates check goes from
"available" to "current"."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest

from tests.env.docker import BUSYBOX_IMAGE, DockerEngine
from tests.env.keyring_backend import MemoryKeyring
from tests.env.registry import Registry, registry  # noqa: F401 - fixture
from tests.support.deploy import local_deploy_graph
from tests.support.target import engine_settings
from windflow_desktop.domain.containers import UpdateState
from windflow_desktop.domain.enums import DeploymentStatus
from windflow_desktop.engine.pool import ExecutorPool
from windflow_desktop.engine.ssh import KnownHosts
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.updates import UpdateService

pytestmark = pytest.mark.docker


def _running_image(engine: DockerEngine, project: str) -> str:
    [cid] = engine.cli("ps", "-q", "--filter",
                       f"label=com.docker.compose.project={project}").split()
    return str(json.loads(engine.cli("inspect", cid))[0]["Image"])


async def test_update_images_pulls_what_a_redeploy_does_not(
    tmp_path: Path, docker_engine: DockerEngine, registry: Registry  # noqa: F811
) -> None:
    engine = docker_engine
    image = f"{registry.host}/wf-upd-{uuid.uuid4().hex[:6]}:1"
    sh = engine.cli
    await asyncio.to_thread(sh, "tag", BUSYBOX_IMAGE, image)
    await asyncio.to_thread(sh, "push", image)
    old_id = sh("image", "inspect", "-f", "{{.Id}}", image).strip()
    stack_yaml = (f"services:\n  web:\n    image: {image}\n"
                  "    command: [\"sleep\", \"1000000\"]\n    stop_signal: SIGKILL\n")
    async with local_deploy_graph(tmp_path, engine) as (g, target):
        async with g.backend.unit_of_work() as uow:
            stored = await uow.targets.get(target.id)
            stored.docker_socket = engine.host
            await uow.targets.save(stored)
            await uow.commit()
        stack, _ = await g.stacks.create_stack(g.admin, name="upd", compose_yaml=stack_yaml)
        [first] = await (await g.deployments.deploy(g.admin, stack.id, [target.id])).wait()
        assert first.status is DeploymentStatus.SUCCEEDED, first.error

        def push_newer() -> str:
            """A newer image under the same tag on the registry; the target keeps the
            old one under that name (as if it had never pulled since)."""
            name = f"newer-{uuid.uuid4().hex[:6]}"
            sh("run", "--name", name, BUSYBOX_IMAGE, "sh", "-c", "echo 2 > /version")
            sh("commit", name, image)
            sh("rm", name)
            sh("push", image)
            new_id = sh("image", "inspect", "-f", "{{.Id}}", image).strip()
            sh("tag", old_id, image)
            return new_id

        new_id = await asyncio.to_thread(push_newer)
        assert new_id != old_id
        pool = ExecutorPool(KnownHosts(tmp_path / "kh"), SecretStore(MemoryKeyring()).aget,
                            settings=engine_settings())
        updates = UpdateService(ServiceContext(g.backend, g.bus), pool, g.secrets)
        try:
            [line] = [u for u in await updates.check(g.admin, target.id) if u.image == image]
            assert line.state is UpdateState.AVAILABLE, line

            [plain] = await (await g.deployments.redeploy(g.admin, first.id)).wait()
            assert plain.status is DeploymentStatus.SUCCEEDED, plain.error
            assert _running_image(engine, plain.project_name) == old_id  # nothing pulled

            [updated] = await (await g.deployments.redeploy(
                g.admin, plain.id, pull_images=True)).wait()
            assert updated.status is DeploymentStatus.SUCCEEDED, updated.error
            assert updated.pull_images
            assert _running_image(engine, updated.project_name) == new_id

            [line] = [u for u in await updates.check(g.admin, target.id) if u.image == image]
            assert line.state is UpdateState.CURRENT, line
        finally:
            await pool.close()
