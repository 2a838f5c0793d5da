"""DriftService on a real engine: a stack deployed by WindFlow matches what it deployed;
then a service's container stopped by hand, one removed, one added to the project by hand
and one running another image are each said in words; a container recreated by hand with
another configuration (``docker compose up -d`` with a changed environment) is caught by
its Compose config hash, and one recreated on another image behind the same tag by its
image id; a redeploy of the same revision ("put back") makes the check clean again."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.env.docker import BUSYBOX_IMAGE, DockerEngine
from tests.env.keyring_backend import MemoryKeyring
from tests.support.deploy import DeployGraph, compose_v2_config, local_deploy_graph
from tests.support.target import engine_settings
from windflow_desktop.domain.enums import DeploymentStatus
from windflow_desktop.domain.models import Deployment, Target
from windflow_desktop.engine.docker_api import DockerApi
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
        # What ``up`` gave the containers is kept with the deployment.
        assert set(dep.config_hashes) == set(dep.image_ids) == {"web", "worker", "cache"}
        assert all(v.startswith("sha256:") for v in dep.image_ids.values())
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


@asynccontextmanager
async def _deployed(tmp_path: Path, engine: DockerEngine
                    ) -> AsyncIterator[tuple[DeployGraph, Target, Deployment, DriftService]]:
    """The stack deployed on a local target of ``engine``, and a drift service."""
    async with local_deploy_graph(tmp_path, engine) as (g, target):
        async with g.backend.unit_of_work() as uow:
            stored = await uow.targets.get(target.id)
            stored.docker_socket = engine.host
            await uow.targets.save(stored)
            await uow.commit()
        stack, _ = await g.stacks.create_stack(g.admin, name="shop", compose_yaml=STACK)
        rollout = await g.deployments.deploy(g.admin, stack.id, [target.id])
        [dep] = await rollout.wait()
        dep = await g.settled(dep)
        assert dep.status is DeploymentStatus.SUCCEEDED, dep.error
        pool = ExecutorPool(KnownHosts(tmp_path / "known_hosts"),
                            SecretStore(MemoryKeyring()).aget, settings=engine_settings())
        try:
            yield g, target, dep, DriftService(ServiceContext(g.backend, g.bus), pool)
        finally:
            await pool.close()


def _container_of(engine: DockerEngine, project: str, service: str) -> str:
    [cid] = engine.cli("ps", "-aq", "--filter", f"label=com.docker.compose.project={project}",
                       "--filter", f"label=com.docker.compose.service={service}").split()
    return cid


def _compose_by_hand(tmp_path: Path, engine: DockerEngine, project: str, text: str,
                     *args: str) -> None:
    """``docker compose -p <project> -f <text> up -d …`` on the target, outside WindFlow."""
    folder = tmp_path / "by-hand"
    folder.mkdir(exist_ok=True)
    (folder / "compose.yaml").write_text(text)
    env = {**os.environ, "DOCKER_HOST": engine.host,
           "DOCKER_CONFIG": str(compose_v2_config(tmp_path))}
    done = subprocess.run([engine.docker_cli, "compose", "-p", project, "-f",
                           str(folder / "compose.yaml"), "up", "-d", *args],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr


async def _put_back(g: DeployGraph, dep: Deployment) -> Deployment:
    rollout = await g.deployments.redeploy(g.admin, dep.id)
    [again] = await rollout.wait()
    again = await g.settled(again)
    assert again.status is DeploymentStatus.SUCCEEDED, again.error
    assert again.revision_id == dep.revision_id
    return again


async def test_a_stopped_container_is_named_and_put_back_clears_it(
        tmp_path: Path, docker_engine: DockerEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    async with _deployed(tmp_path, docker_engine) as (g, target, dep, drift):
        web = _container_of(docker_engine, dep.project_name, "web")
        name = docker_engine.cli("inspect", "-f", "{{.Name}}", web).strip().lstrip("/")
        await asyncio.to_thread(docker_engine.cli, "stop", web)
        # One engine round-trip for the whole target: the list (no inspect per container).
        calls: list[str] = []
        real_call = DockerApi._call

        async def counted(api: DockerApi, what: str, factory: Any) -> Any:
            calls.append(what)
            return await real_call(api, what, factory)

        monkeypatch.setattr(DockerApi, "_call", counted)
        [changed] = await drift.check(g.admin, target.id)
        monkeypatch.undo()
        assert calls == ["list containers"], calls
        assert changed.deployment_id == dep.id
        assert len(changed.differences) == 1, changed.differences
        assert changed.differences[0].startswith(f"web: {name} is exited")

        again = await _put_back(g, dep)
        state = docker_engine.cli("inspect", "-f", "{{.State.Status}}", web).strip()
        assert state == "running"  # the same container, started again
        [clean] = await drift.check(g.admin, target.id)
        assert clean.deployment_id == again.id
        assert not clean.drifted, clean.differences


async def test_a_container_recreated_with_another_config_is_caught_by_its_hash(
        tmp_path: Path, docker_engine: DockerEngine) -> None:
    async with _deployed(tmp_path, docker_engine) as (g, target, dep, drift):
        before = _container_of(docker_engine, dep.project_name, "web")
        changed_env = STACK.replace(
            '  web:\n    image: localhost/busybox\n',
            '  web:\n    image: localhost/busybox\n    environment:\n      MODE: by-hand\n')
        assert changed_env != STACK
        await asyncio.to_thread(_compose_by_hand, tmp_path, docker_engine,
                                dep.project_name, changed_env, "--no-deps", "web")
        after = _container_of(docker_engine, dep.project_name, "web")
        assert after != before  # Compose recreated it: its config hash changed
        [changed] = await drift.check(g.admin, target.id)
        name = docker_engine.cli("inspect", "-f", "{{.Name}}", after).strip().lstrip("/")
        assert changed.differences == (
            f"web: its configuration was changed by hand ({name} was recreated outside "
            "WindFlow)",), changed.differences

        await _put_back(g, dep)
        [clean] = await drift.check(g.admin, target.id)
        assert not clean.drifted, clean.differences


async def test_a_container_recreated_on_another_image_is_caught_by_its_id(
        tmp_path: Path, docker_engine: DockerEngine) -> None:
    async with _deployed(tmp_path, docker_engine) as (g, target, dep, drift):
        deployed = dep.image_ids["cache"]
        # Another image behind the same tag, and the service recreated on it by hand.
        folder = tmp_path / "newer"
        folder.mkdir()
        (folder / "Dockerfile").write_text(
            f"FROM {BUSYBOX_IMAGE}\nLABEL windflow.test=newer\n")
        try:
            await asyncio.to_thread(docker_engine.cli, "build", "-q", "-t",
                                    "localhost/busybox:drifted", str(folder))
            newer = docker_engine.cli("image", "inspect", "-f", "{{.Id}}",
                                      "localhost/busybox:drifted").strip()
            assert newer != deployed
            await asyncio.to_thread(docker_engine.cli, "tag", newer, BUSYBOX_IMAGE)
            await asyncio.to_thread(_compose_by_hand, tmp_path, docker_engine,
                                    dep.project_name, STACK, "--no-deps",
                                    "--force-recreate", "cache")
            [changed] = await drift.check(g.admin, target.id)
            said = "\n".join(changed.differences)
            assert (f"cache: runs image sha256:{newer.removeprefix('sha256:')[:12]}…, "
                    f"deployed sha256:{deployed.removeprefix('sha256:')[:12]}…") in said, said
        finally:
            await asyncio.to_thread(docker_engine.cli, "tag", deployed, BUSYBOX_IMAGE,
                                    check=False)
