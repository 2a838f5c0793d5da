"""The deployment pipeline on a real Docker engine, local target (Compose v2): deploy,
redeploy in place, a broken revision rolled back, remove; and the errors that must come
before anything changes on the target."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from tests.env.docker import DockerEngine, docker_engine  # noqa: F401 - fixture
from tests.env.services import free_port
from tests.support.deploy import (
    BROKEN,
    STACK,
    VARIABLES,
    DeployGraph,
    compose_v2_config,
    http_get,
    local_deploy_graph,
)
from windflow_desktop.domain.compose import project_name
from windflow_desktop.domain.enums import DeploymentStatus
from windflow_desktop.domain.errors import ValidationError
from windflow_desktop.domain.models import Deployment, Stack, Target
from windflow_desktop.engine.executor import LocalExecutor
from windflow_desktop.repositories.sql.deployment_repository import SqlDeploymentRepository


def _ids(engine: DockerEngine, project: str, service: str | None = None) -> list[str]:
    flt = [f"label=com.docker.compose.project={project}"]
    if service:
        flt.append(f"label=com.docker.compose.service={service}")
    args = ["ps", "-aq", "--no-trunc"]
    for f in flt:
        args += ["--filter", f]
    return engine.cli(*args).split()


async def test_deploy_redeploy_rollback_remove(docker_engine: DockerEngine,  # noqa: F811
                                               tmp_path: Path) -> None:
    async with local_deploy_graph(tmp_path, docker_engine) as (g, target):
        stack, _ = await g.stacks.create_stack(g.admin, name="Web app", compose_yaml=STACK,
                                               variables=VARIABLES)
        port = free_port()

        # 1. first deployment
        rollout = await g.deployments.deploy(
            g.admin, stack.id, [target.id], variables={"GREETING": "hello v1",
                                                       "WEB_PORT": str(port)})
        [first] = await rollout.wait()
        assert first.status is DeploymentStatus.SUCCEEDED, first.error
        assert http_get(port) == "hello v1"
        project = first.project_name
        assert len(_ids(docker_engine, project)) == 3
        stages = await g.deployments.stages(g.admin, first.id)
        assert [(s.stage, s.outcome) for s in stages] == [
            ("preflight", "succeeded"), ("validate", "succeeded"), ("pull", "succeeded"),
            ("up", "succeeded"), ("health", "succeeded"), ("done", "succeeded"),
            ("watch", "running")]  # stored with the success: seen wherever it is seen
        assert all(s.finished_at and s.finished_at >= s.started_at for s in stages[:-1])
        logs = await g.deployments.logs(g.admin, first.id, limit=10_000)
        assert [x.seq for x in logs] == list(range(1, len(logs) + 1))
        text = "\n".join(x.line for x in logs)
        assert "localhost/busybox: present, not pulled" in text
        # the secret went to the keyring only, and never into a log line
        secret = first.variables["ADMIN_PASSWORD"]
        assert set(secret) == {"secret_ref"}
        value = g.keyring.get_password("windflow-desktop", secret["secret_ref"])
        assert value and value not in text
        assert value not in (tmp_path / "w.db").read_bytes().decode("latin-1")
        env_file = tmp_path / "projects" / project / ".env"
        assert env_file.stat().st_mode & 0o777 == 0o600
        types = g.bus.types()
        assert "deployment.created" in types and "deployment.log" in types
        assert types[-1] == "deployment.finished"

        # 2. redeploy with a changed variable: same project, web recreated, worker kept
        worker_before = _ids(docker_engine, project, "worker")
        rollout = await g.deployments.redeploy(g.admin, first.id,
                                               variables={"GREETING": "hello v2"})
        [second] = await rollout.wait()
        assert second.status is DeploymentStatus.SUCCEEDED, second.error
        assert second.project_name == project
        assert http_get(port) == "hello v2"
        assert _ids(docker_engine, project, "worker") == worker_before
        assert second.variables["ADMIN_PASSWORD"] != secret  # own ref, same value
        assert g.keyring.get_password(
            "windflow-desktop", second.variables["ADMIN_PASSWORD"]["secret_ref"]) == value

        # 3. a broken revision fails health and is rolled back to revision 1 (hello v2)
        await g.stacks.save_revision(g.admin, stack.id, compose_yaml=BROKEN,
                                     variables=VARIABLES, message="broken worker")
        rollout = await g.deployments.redeploy(g.admin, second.id,
                                               variables={"GREETING": "hello v3"}, revision=0)
        third = await g.settled((await rollout.wait())[0])
        assert third.status is DeploymentStatus.ROLLED_BACK, third.error
        assert "worker exited with code 3" in (third.error or "")
        assert "rolled back to revision 1" in (third.error or "")
        assert http_get(port) == "hello v2"
        stages = [(s.stage, s.outcome) for s in await g.deployments.stages(g.admin, third.id)]
        assert ("health", "failed") in stages and stages[-1] == ("rollback", "succeeded")
        logs = "\n".join(x.line for x in await g.deployments.logs(g.admin, third.id))
        assert "worker | worker cannot start" in logs

        # 4. remove: containers and network gone, the named volume kept unless asked
        removed = await g.deployments.remove(g.admin, second.id)
        assert removed.status is DeploymentStatus.REMOVED
        assert _ids(docker_engine, project) == []
        volumes = docker_engine.cli("volume", "ls", "-q", "--filter",
                                    f"label=com.docker.compose.project={project}").split()
        assert volumes == [f"{project}_data"]
        assert not (tmp_path / "projects" / project).exists()
        docker_engine.cli("volume", "rm", f"{project}_data")


async def test_errors_come_before_anything_changes(docker_engine: DockerEngine,  # noqa: F811
                                                   tmp_path: Path) -> None:
    async with local_deploy_graph(tmp_path, docker_engine) as (g, target):
        empty_bin = tmp_path / "nobin"
        empty_bin.mkdir()
        for tool in ("sh", "cat", "df", "grep", "tail", "printf", "mkdir", "rm", "test"):
            (empty_bin / tool).symlink_to("/bin/busybox")
        bare = await g.add_target("bare", LocalExecutor(env={
            "DOCKER_HOST": docker_engine.host,
            "DOCKER_CONFIG": str(compose_v2_config(tmp_path)), "PATH": str(empty_bin)}))
        stack, _ = await g.stacks.create_stack(g.admin, name="Web", compose_yaml=STACK,
                                               variables=VARIABLES)
        # a missing required variable: refused, nothing created
        with pytest.raises(ValidationError) as info:
            await g.deployments.deploy(g.admin, stack.id, [target.id],
                                       variables={"WEB_PORT": "1"})
        assert info.value.field == "GREETING"
        assert (await g.deployments.list_deployments(g.admin)).items == ()
        # a target without Compose: fails in preflight
        [dep] = await (await g.deployments.deploy(
            g.admin, stack.id, [bare.id],
            variables={"GREETING": "x", "WEB_PORT": str(free_port())})).wait()
        assert dep.status is DeploymentStatus.FAILED
        assert "neither Docker Compose v2" in (dep.error or "")
        # a port already taken: fails before up, nothing created on the engine
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            preview = await g.deployments.preview(g.admin, stack.id, target.id,
                                                  {"GREETING": "hi there", "WEB_PORT": str(port)})
            checks = {c.detail: c.ok for c in preview.checks}
            assert checks[f"port {port}/tcp in use"] is False and not preview.ok
            assert any(c.name == "compose" and c.ok and "v2" in c.detail
                       for c in preview.checks)
            assert "GREETING: hi there" in preview.config  # compose config ran on the target
            # the project that will be made: its real name and network, not a scratch one
            project = project_name(stack.slug, stack.id, target.id)
            assert f"name: {project}" in preview.config, preview.config
            assert f"name: {project}_back" in preview.config
            assert "preview-" not in preview.config
            [dep] = await (await g.deployments.deploy(
                g.admin, stack.id, [target.id],
                variables={"GREETING": "x", "WEB_PORT": str(port)})).wait()
        assert dep.status is DeploymentStatus.FAILED
        assert f"port {port}/tcp is already in use" in (dep.error or "")
        stages = [(s.stage, s.outcome) for s in await g.deployments.stages(g.admin, dep.id)]
        assert stages[-1] == ("validate", "failed") and ("up", "running") not in stages
        assert _ids(docker_engine, dep.project_name) == []
        assert not (tmp_path / "projects" / dep.project_name / "compose.yaml").exists()
        assert not (tmp_path / "projects" / dep.project_name / "compose.yaml.next").exists()
        # not enough disk: preflight fails while validate runs alongside (it is let finish,
        # never cut inside a write); the failure is preflight's, the staged files go
        g.core.settings.min_disk_mb = 10**12
        [dep] = await (await g.deployments.deploy(
            g.admin, stack.id, [target.id],
            variables={"GREETING": "x", "WEB_PORT": str(free_port())})).wait()
        assert dep.status is DeploymentStatus.FAILED
        assert "MB of disk free (at least 1000000000000 MB needed)" in (dep.error or "")
        records = {s.stage: s for s in await g.deployments.stages(g.admin, dep.id)}
        assert records["preflight"].outcome == "failed"
        assert (records["validate"].outcome, records["validate"].detail) == (
            "cancelled", "preflight failed")  # it ended, at its port check
        preflight_end = records["preflight"].finished_at
        assert preflight_end is not None and records["validate"].started_at < preflight_end
        assert "up" not in records and _ids(docker_engine, dep.project_name) == []
        assert not (tmp_path / "projects" / dep.project_name / "compose.yaml.next").exists()
        assert not (tmp_path / "projects" / dep.project_name / ".env.next").exists()


async def deploy_web(g: DeployGraph, stack: Stack, target: Target, port: str,
                     **given: str) -> Deployment:
    """Deploy the web stack with GREETING=x on ``port`` (plus ``given``); its settled state."""
    [dep] = await (await g.deployments.deploy(
        g.admin, stack.id, [target.id],
        variables={"GREETING": "x", "WEB_PORT": port, **given})).wait()
    return await g.settled(dep)


async def admin_password(g: DeployGraph, dep: Deployment) -> str | None:
    """The ADMIN_PASSWORD ``dep`` stored in the keyring (None once it is deleted)."""
    return await g.secrets.aget(str(dep.variables["ADMIN_PASSWORD"]["secret_ref"]))


async def test_generated_secrets_are_kept_per_project_and_forgotten_on_remove(
        docker_engine: DockerEngine, tmp_path: Path) -> None:  # noqa: F811
    async with local_deploy_graph(tmp_path, docker_engine, {"watch_s": 0}) as (g, target):
        stack, _ = await g.stacks.create_stack(g.admin, name="Keep", compose_yaml=STACK,
                                               variables=VARIABLES)
        port = str(free_port())

        async def deploy(**given: str) -> Deployment:
            dep = await deploy_web(g, stack, target, port, **given)
            assert dep.status is DeploymentStatus.SUCCEEDED, dep.error
            return dep

        async def password(dep: Deployment) -> str | None:
            return await admin_password(g, dep)

        def running_password(dep: Deployment) -> str:
            env = docker_engine.cli("ps", "-q", "--filter",
                                    f"label=com.docker.compose.project={dep.project_name}",
                                    "--filter", "label=com.docker.compose.service=web")
            return docker_engine.cli("inspect", "-f", "{{range .Config.Env}}{{println .}}"
                                     "{{end}}", env.strip())

        first = await deploy()
        generated = await password(first)
        assert generated and len(generated) >= 16
        second = await deploy()  # not given: the generated one is kept, not regenerated
        assert await password(second) == generated
        assert f"ADMIN_PASSWORD={generated}" in running_password(second)
        third = await deploy(ADMIN_PASSWORD="chosen-by-hand")
        assert await password(third) == "chosen-by-hand"

        # remove, volumes kept: the older deployments' entries go, the newest one's stay
        await g.deployments.remove(g.admin, third.id)
        assert await password(first) is None and await password(second) is None
        assert await password(third) == "chosen-by-hand"
        fourth = await deploy()  # the data left behind was set up with it: kept
        assert await password(fourth) == "chosen-by-hand"

        # remove with volumes: nothing of the project is left in the keyring
        await g.deployments.remove(g.admin, fourth.id, volumes=True)
        assert not [n for n in g.keyring.names() if n.startswith("deployment/")]

        # redeploying an old one: its generated secret is generated anew
        [again] = await (await g.deployments.redeploy(g.admin, first.id)).wait()
        assert again.status is DeploymentStatus.SUCCEEDED, again.error
        fresh = await password(again)
        assert fresh and fresh not in (generated, "chosen-by-hand")
        await g.deployments.remove(g.admin, again.id, volumes=True)


async def test_values_come_from_what_ran_and_nothing_from_before_a_removal_comes_back(
        docker_engine: DockerEngine, tmp_path: Path) -> None:  # noqa: F811
    async with local_deploy_graph(tmp_path, docker_engine,
                                  {"watch_s": 3, "watch_poll_s": 0.3}) as (g, target):
        stack, _ = await g.stacks.create_stack(g.admin, name="Ran", compose_yaml=STACK,
                                               variables=VARIABLES)
        port = str(free_port())

        async def deploy(**given: str) -> Deployment:
            return await deploy_web(g, stack, target, port, **given)

        async def password(dep: Deployment) -> str | None:
            return await admin_password(g, dep)

        first = await deploy()
        generated = await password(first)
        # a hand-set password on a revision that fails is rolled back: what runs is the
        # first one's, so the next deployment keeps the generated password, not the other
        await g.stacks.save_revision(g.admin, stack.id, compose_yaml=BROKEN,
                                     variables=VARIABLES, message="broken")
        failed = await deploy(ADMIN_PASSWORD="set-by-hand")
        assert failed.status is DeploymentStatus.ROLLED_BACK, failed.error
        await g.stacks.save_revision(g.admin, stack.id, compose_yaml=STACK,
                                     variables=VARIABLES, message="fixed")
        third = await deploy()
        assert third.status is DeploymentStatus.SUCCEEDED, third.error
        assert await password(third) == generated

        # removed (volumes kept), then a broken revision fails: what ran before the
        # removal does not come back (its secrets are gone); the project is taken down
        await g.deployments.remove(g.admin, third.id)
        await g.stacks.save_revision(g.admin, stack.id, compose_yaml=BROKEN,
                                     variables=VARIABLES, message="broken again")
        after = await deploy()
        assert after.status is DeploymentStatus.FAILED, after.error
        assert "rolled back" not in (after.error or "") and "failed too" not in (after.error or "")
        assert _ids(docker_engine, after.project_name) == []
        assert await password(after) == generated  # kept from the removed one that ran last
        await g.deployments.remove(g.admin, after.id, volumes=True)


async def test_each_stage_transition_is_one_transaction(
        docker_engine: DockerEngine, tmp_path: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A stage that ends well is stored with the next stage's start, the first stage's
    start with the running status, and the ``done`` record with the succeeded status:
    six write transactions for a deployment of five stages (there were eleven), and no
    moment where a status is stored without its stage. Each write is noted with the
    repository of its unit of work (kept alive, so two units of work never share an
    identity)."""
    writes: list[tuple[object, str]] = []
    save_stage, save = SqlDeploymentRepository.save_stage, SqlDeploymentRepository.save

    async def spy_stage(self: SqlDeploymentRepository, record: Any) -> Any:
        writes.append((self, f"stage {record.stage} {record.outcome}"))
        return await save_stage(self, record)

    async def spy_save(self: SqlDeploymentRepository, obj: Any) -> Any:
        writes.append((self, f"status {obj.status.value}"))
        return await save(self, obj)

    monkeypatch.setattr(SqlDeploymentRepository, "save_stage", spy_stage)
    monkeypatch.setattr(SqlDeploymentRepository, "save", spy_save)
    async with local_deploy_graph(tmp_path, docker_engine) as (g, target):
        stack, _ = await g.stacks.create_stack(g.admin, name="Once", compose_yaml=STACK,
                                               variables=VARIABLES)
        writes.clear()
        rollout = await g.deployments.deploy(
            g.admin, stack.id, [target.id], variables={"GREETING": "x",
                                                       "WEB_PORT": str(free_port())})
        [dep] = await rollout.wait()
        assert dep.status is DeploymentStatus.SUCCEEDED, dep.error
        stages = [(s.stage, s.outcome) for s in await g.deployments.stages(g.admin, dep.id)]
        assert stages[-2:] == [("done", "succeeded"), ("watch", "running")]
        groups: dict[int, list[str]] = {}
        for uow, what in writes:
            groups.setdefault(id(uow), []).append(what)
        runs = [group for group in groups.values() if group != ["status pending"]]
        # Preflight and validate overlap: preflight's end goes with whichever start
        # comes after it (validate's or pull's).
        assert sum("stage preflight succeeded" in group for group in runs[1:3]) == 1
        for group in runs:
            if "stage preflight succeeded" in group:
                group.remove("stage preflight succeeded")
        assert runs == [
            ["stage preflight running", "status running"],
            ["stage validate running", "status running"],
            ["stage validate succeeded", "stage pull running", "status running"],
            ["stage pull succeeded", "stage up running", "status running"],
            ["stage up succeeded", "stage health running", "status running"],
            ["stage health succeeded", "stage done succeeded", "stage watch running",
             "status succeeded"],
        ]
        await g.deployments.remove(g.admin, dep.id, volumes=True)
