"""DriftService on a real engine: a stack deployed by WindFlow matches what it deployed;
then a service's container stopped by hand, one removed, one added to the project by hand
and one running another image are each said in words — and another target's or a
removed deployment's projects are not looked at."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.env.docker import BUSYBOX_IMAGE, DockerEngine
from tests.env.keyring_backend import MemoryKeyring
from tests.support.deploy import local_deploy_graph
from tests.support.target import engine_settings
from windflow_desktop.domain.enums import DeploymentStatus
from windflow_desktop.engine.pool import ExecutorPool
from windflow_desktop.engine.ssh import KnownHosts
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.drift import DriftService

pytestmark = pytest.mark.docker

STACK = """\
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


async def test_changes_by_hand_are_said(tmp_path: Path, docker_engine: DockerEngine) -> None:
    async with local_deploy_graph(tmp_path, docker_engine) as (g, target):
        async with g.backend.unit_of_work() as uow:  # the engine the graph's executor uses
            stored = await uow.targets.get(target.id)
            stored.docker_socket = docker_engine.host
            await uow.targets.save(stored)
            await uow.commit()
        stack, _ = await g.stacks.create_stack(g.admin, name="shop", compose_yaml=STACK)
        rollout = await g.deployments.deploy(g.admin, stack.id, [target.id])
        [dep] = await rollout.wait()
        dep = await g.settled(dep)
        assert dep.status is DeploymentStatus.SUCCEEDED, dep.error
        pool = ExecutorPool(KnownHosts(tmp_path / "known_hosts"),
                            SecretStore(MemoryKeyring()).aget, settings=engine_settings())
        drift = DriftService(ServiceContext(g.backend, g.bus), pool)
        try:
            [clean] = await drift.check(g.admin, target.id)
            assert clean.deployment_id == dep.id and clean.stack_name == "shop"
            assert not clean.drifted, clean.differences

            def by_hand() -> None:
                project = dep.project_name

                def one(service: str) -> str:
                    [cid] = docker_engine.cli(
                        "ps", "-aq", "--filter", f"label=com.docker.compose.project={project}",
                        "--filter", f"label=com.docker.compose.service={service}").split()
                    return cid

                docker_engine.cli("stop", one("web"))
                docker_engine.cli("rm", "-f", one("worker"))
                docker_engine.cli("tag", BUSYBOX_IMAGE, "localhost/busybox:other")
                for service, image in (("debug", BUSYBOX_IMAGE),
                                       ("cache", "localhost/busybox:other")):
                    docker_engine.cli("run", "-d", "--name", f"{project}-{service}-by-hand",
                                      "--label", f"com.docker.compose.project={project}",
                                      "--label", f"com.docker.compose.service={service}",
                                      "--stop-signal", "SIGKILL", "--network", "none",
                                      image, "sleep", "1000000")

            await asyncio.to_thread(by_hand)
            [changed] = await drift.check(g.admin, target.id)
            said = "\n".join(changed.differences)
            assert changed.drifted
            assert "web:" in said and "exited" in said
            assert "worker: its container is gone" in said
            assert "added to the project by hand (service debug" in said
            assert "cache: runs localhost/busybox:other, the revision says " \
                "localhost/busybox" in said
        finally:
            await pool.close()
            for service in ("debug", "cache"):
                await asyncio.to_thread(docker_engine.cli, "rm", "-f",
                                        f"{dep.project_name}-{service}-by-hand", check=False)
