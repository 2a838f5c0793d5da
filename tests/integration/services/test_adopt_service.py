"""AdoptService on a real engine: a project started with plain ``docker compose -p X -f
file up -d`` outside WindFlow is found, adopted without recreating a container (the
stack's first revision is the file's text, the values come from its ``.env``), and then
deployed again from WindFlow under the same project name. Files gone or naming relative
paths: said in words, and adopting from the engine's view works. A viewer sees the
projects but cannot adopt. Keeping a change made by hand to a managed project makes a
new revision of what runs, which drift then finds matching."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.env.docker import DockerEngine
from tests.env.keyring_backend import MemoryKeyring
from tests.support.adopt import APP, compose_up, ids_of, remove
from tests.support.auth import add_member
from tests.support.deploy import DeployGraph, local_deploy_graph
from tests.support.target import engine_settings
from windflow_desktop.domain.adopt import AdoptSource, FilesUnreadableError
from windflow_desktop.domain.enums import DeploymentStatus, Role
from windflow_desktop.domain.errors import ConflictError, PermissionDeniedError, ValidationError
from windflow_desktop.domain.models import Deployment, Target
from windflow_desktop.engine.compose import ComposeProject
from windflow_desktop.engine.executor import LocalExecutor
from windflow_desktop.engine.pool import ExecutorPool
from windflow_desktop.engine.project_names import adopted_folder
from windflow_desktop.engine.ssh import KnownHosts
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.adopt import AdoptService
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.drift import DriftService

pytestmark = pytest.mark.docker

RELATIVE = """\
services:
  box:
    image: localhost/busybox
    command: ["sleep", "1000000"]
    environment:
      API_TOKEN: s3cr3t-token
    volumes: ["./state:/state"]
    stop_signal: SIGKILL
"""


@asynccontextmanager
async def _removing(engine: DockerEngine, project: str) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await asyncio.to_thread(remove, engine, project)


@asynccontextmanager
async def adopt_graph(tmp_path: Path, engine: DockerEngine
                      ) -> AsyncIterator[tuple[DeployGraph, Target, AdoptService]]:
    async with local_deploy_graph(tmp_path, engine) as (g, target):
        async with g.backend.unit_of_work() as uow:  # the engine the pool's executor uses
            stored = await uow.targets.get(target.id)
            stored.docker_socket = engine.host
            await uow.targets.save(stored)
            await uow.commit()
        pool = ExecutorPool(KnownHosts(tmp_path / "known_hosts"),
                            SecretStore(MemoryKeyring()).aget, settings=engine_settings())
        try:
            yield g, target, AdoptService(ServiceContext(g.backend, g.bus), pool, g.secrets)
        finally:
            await pool.close()


async def test_a_project_started_by_hand_is_found_adopted_and_deployed_again(
        tmp_path: Path, docker_engine: DockerEngine) -> None:
    folder = tmp_path / "by-hand"
    folder.mkdir()
    (folder / "compose.yaml").write_text(APP)
    (folder / ".env").write_text("GREETING=bonjour\nDB_PASSWORD=hunter2\n")
    await asyncio.to_thread(compose_up, docker_engine, folder, "shopx", tmp_path)
    docker_engine.cli("run", "-d", "--name", "loner", "--network", "none",
                      "localhost/busybox", "sleep", "1000000")
    try:
        async with adopt_graph(tmp_path, docker_engine) as (g, target, adopt):
            found = await adopt.discover(g.admin, target.id)
            project = found.project("shopx")
            assert project is not None
            assert project.working_dir == str(folder)
            assert project.config_files == (str(folder / "compose.yaml"),)
            assert {c.service for c in project.containers} == {"web", "worker"}
            assert "loner" in {c.name for c in found.containers}

            viewer = await add_member(g.backend, g.org_id, "vic", Role.VIEWER)
            assert (await adopt.discover(viewer, target.id)).project("shopx") is not None
            with pytest.raises(PermissionDeniedError):
                await adopt.adopt(viewer, target.id, "shopx", "Shop")

            before = await asyncio.to_thread(ids_of, docker_engine, "shopx")
            adopted = await adopt.adopt(g.admin, target.id, "shopx", "Shop")
            assert adopted.project == "shopx" and adopted.revision == 1
            assert adopted.source is AdoptSource.FILES
            assert await asyncio.to_thread(ids_of, docker_engine, "shopx") == before

            revision = await g.stacks.get_revision(g.admin, adopted.stack_id)
            assert revision.compose_yaml == APP
            specs = {v["name"]: v for v in revision.variables}
            assert specs["GREETING"].get("default") == "bonjour"
            assert specs["DB_PASSWORD"].get("secret") is True
            assert "default" not in specs["DB_PASSWORD"]
            assert "hunter2" not in json.dumps(revision.variables)

            dep = await g.deployments.get(g.admin, adopted.deployment_id)
            assert dep.status is DeploymentStatus.SUCCEEDED
            assert dep.project_name == "shopx" and dep.revision_number == 1
            assert "hunter2" not in json.dumps(dep.variables)  # in the keyring only
            assert "stack.adopted" in g.bus.types()

            assert (await adopt.discover(g.admin, target.id)).project("shopx") is None
            with pytest.raises(ConflictError):
                await adopt.adopt(g.admin, target.id, "shopx", "Again")

            # Deployed again from WindFlow: the same project, the values that ran.
            [again] = await (await g.deployments.redeploy(g.admin, dep.id)).wait()
            again = await g.settled(again)
            assert again.status is DeploymentStatus.SUCCEEDED, again.error
            assert again.project_name == "shopx"
            after = await asyncio.to_thread(ids_of, docker_engine, "shopx")
            assert set(after) == {"web", "worker"}  # no second copy beside it
            [web] = json.loads(docker_engine.cli("inspect", after["web"]))
            env = dict(e.split("=", 1) for e in web["Config"]["Env"])
            assert env["GREETING"] == "bonjour" and env["DB_PASSWORD"] == "hunter2"
            # The original folder is left alone: WindFlow keeps its files in its own.
            assert (folder / "compose.yaml").read_text() == APP
            assert sorted(p.name for p in folder.iterdir()) == [".env", "compose.yaml"]
    finally:
        docker_engine.cli("rm", "-f", "loner", check=False)
        remove(docker_engine, "shopx")


async def test_files_gone_or_relative_are_said_and_the_engine_view_adopts(
        tmp_path: Path, docker_engine: DockerEngine) -> None:
    folder = tmp_path / "gone"
    folder.mkdir()
    (folder / "compose.yaml").write_text(RELATIVE)
    await asyncio.to_thread(compose_up, docker_engine, folder, "gonex", tmp_path)
    async with adopt_graph(tmp_path, docker_engine) as (g, target, adopt), \
            _removing(docker_engine, "gonex"):
        with pytest.raises(FilesUnreadableError, match=r"relative to its folder.*\./state"):
            await adopt.adopt(g.admin, target.id, "gonex", "Gone")
        shutil.rmtree(folder / "state", ignore_errors=True)
        (folder / "compose.yaml").unlink()
        with pytest.raises(FilesUnreadableError, match=r"compose\.yaml of gonex is gone"):
            await adopt.adopt(g.admin, target.id, "gonex", "Gone")

        operator = await add_member(g.backend, g.org_id, "opal", Role.OPERATOR)
        with pytest.raises(PermissionDeniedError, match="host access"):
            await adopt.adopt(operator, target.id, "gonex", "Gone", AdoptSource.ENGINE)

        before = await asyncio.to_thread(ids_of, docker_engine, "gonex")
        adopted = await adopt.adopt(g.admin, target.id, "gonex", "Gone", AdoptSource.ENGINE)
        assert await asyncio.to_thread(ids_of, docker_engine, "gonex") == before
        revision = await g.stacks.get_revision(g.admin, adopted.stack_id)
        assert f"{folder}/state:/state" in revision.compose_yaml  # absolute, as it runs
        assert "s3cr3t-token" not in revision.compose_yaml
        assert "${API_TOKEN}" in revision.compose_yaml
        assert revision.variables == [{"name": "API_TOKEN", "required": True, "secret": True}]

        [again] = await (await g.deployments.redeploy(g.admin, adopted.deployment_id)).wait()
        again = await g.settled(again)
        assert again.status is DeploymentStatus.SUCCEEDED, again.error
        assert again.project_name == "gonex"
        [box] = json.loads(docker_engine.cli(
            "inspect", (await asyncio.to_thread(ids_of, docker_engine, "gonex"))["box"]))
        assert "API_TOKEN=s3cr3t-token" in box["Config"]["Env"]


async def test_several_files_are_refused_as_text_and_adopted_as_the_engine_runs_them(
        tmp_path: Path, docker_engine: DockerEngine) -> None:
    folder = tmp_path / "two"
    folder.mkdir()
    (folder / "compose.yaml").write_text(APP.replace('"${DB_PASSWORD}"', "x"))
    (folder / "override.yaml").write_text(
        "services:\n  web:\n    environment:\n      EXTRA: from-the-override\n")
    await asyncio.to_thread(compose_up, docker_engine, folder, "twox", tmp_path,
                            ("compose.yaml", "override.yaml"))
    async with adopt_graph(tmp_path, docker_engine) as (g, target, adopt), \
            _removing(docker_engine, "twox"):
        found = (await adopt.discover(g.admin, target.id)).project("twox")
        assert found is not None and len(found.config_files) == 2
        with pytest.raises(FilesUnreadableError, match="started from 2 compose files"):
            await adopt.adopt(g.admin, target.id, "twox", "Two")
        before = await asyncio.to_thread(ids_of, docker_engine, "twox")
        adopted = await adopt.adopt(g.admin, target.id, "twox", "Two", AdoptSource.ENGINE)
        assert await asyncio.to_thread(ids_of, docker_engine, "twox") == before
        revision = await g.stacks.get_revision(g.admin, adopted.stack_id)
        assert "EXTRA: from-the-override" in revision.compose_yaml  # both files, merged
        assert "GREETING: hello" in revision.compose_yaml


async def test_keeping_a_change_by_hand_makes_a_new_revision(
        tmp_path: Path, docker_engine: DockerEngine) -> None:
    stack_text = APP.replace("# started by hand, long before WindFlow\n", "").replace(
        '"${DB_PASSWORD}"', "plain").replace('"${GREETING:-hello}"', "hi")
    async with adopt_graph(tmp_path, docker_engine) as (g, target, adopt):
        stack, _ = await g.stacks.create_stack(g.admin, name="kept", compose_yaml=stack_text)
        [dep] = await (await g.deployments.deploy(g.admin, stack.id, [target.id],
                                                  variables={})).wait()
        dep = await g.settled(dep)
        assert dep.status is DeploymentStatus.SUCCEEDED, dep.error
        async with _removing(docker_engine, dep.project_name):
            await _keep_checks(g, target, adopt, dep, docker_engine)


async def _keep_checks(g: DeployGraph, target: Target, adopt: AdoptService, dep: Deployment,
                       docker_engine: DockerEngine) -> None:
    ids = await asyncio.to_thread(ids_of, docker_engine, dep.project_name)
    docker_engine.cli("rm", "-f", ids["worker"])  # by hand

    drift = DriftService(ServiceContext(g.backend, g.bus), adopt.pool)
    [changed] = await drift.check(g.admin, target.id)
    assert changed.drifted

    viewer = await add_member(g.backend, g.org_id, "vera", Role.VIEWER)
    with pytest.raises(PermissionDeniedError):
        await adopt.keep(viewer, dep.id)
    kept = await adopt.keep(g.admin, dep.id)
    assert kept.revision == 2 and kept.project == dep.project_name
    revision = await g.stacks.get_revision(g.admin, dep.stack_id)
    assert revision.number == 2 and "worker" not in revision.compose_yaml
    assert "web:" in revision.compose_yaml and "data:/data" in revision.compose_yaml
    record = await g.deployments.get(g.admin, kept.deployment_id)
    assert record.status is DeploymentStatus.SUCCEEDED and record.revision_number == 2
    assert await asyncio.to_thread(ids_of, docker_engine, dep.project_name) == \
        {"web": ids["web"]}  # nothing recreated
    [clean] = await drift.check(g.admin, target.id)
    assert clean.deployment_id == kept.deployment_id and not clean.drifted, \
        clean.differences
    with pytest.raises(ConflictError):  # the old record no longer holds the project
        await adopt.keep(g.admin, dep.id)


def test_an_adopted_name_keeps_its_files_in_windflows_folder(tmp_path: Path) -> None:
    root = str(tmp_path / "projects")
    project = ComposeProject(LocalExecutor(), "shopx", root)
    assert project.project == "shopx"
    assert project.directory == f"{root}/{adopted_folder('shopx')}"
    assert adopted_folder("shopx").startswith("wf-adopted-")
    for hostile in ("..", "shop/..", "Shop", "-x", "a b", ".x"):
        with pytest.raises(ValidationError, match="not a WindFlow project name"):
            ComposeProject(LocalExecutor(), hostile, root)
