"""The health stage on a real engine: the settle window is counted from each container's
own StartedAt, so a service that dies after ``up`` has returned but inside the window, and
a restart loop, still fail health; preflight takes the Compose flavour from a fresh scan
and probes the target when the scan is stale."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.env.docker import DockerEngine, docker_engine  # noqa: F401 - fixture
from windflow_desktop.domain.enums import DeploymentStatus
from windflow_desktop.domain.models import TargetCapability, utcnow
from windflow_desktop.engine.executor import LocalExecutor
from windflow_desktop.repositories.sql.backend import SqlBackend

from .conftest import sqlite_url
from .deploy_support import build_graph, compose_v2_config

pytestmark = [pytest.mark.filterwarnings("ignore::ResourceWarning"),
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]

BASE = """\
services:
  first:
    image: localhost/busybox
    command: ["sleep", "1000000"]
    stop_signal: SIGKILL
  last:
    image: localhost/busybox
    depends_on: [first]
    stop_signal: SIGKILL
"""
LATE_EXIT = BASE + '    command: ["sh", "-c", "sleep 0.25; echo gave up >&2; exit 4"]\n'
LOOP = BASE + '    command: ["sh", "-c", "exit 1"]\n    restart: always\n'
GOOD = BASE + '    command: ["sleep", "1000000"]\n'


async def test_late_exit_and_restart_loop_fail_health(docker_engine: DockerEngine,  # noqa: F811
                                                      tmp_path: Path) -> None:
    backend = SqlBackend(sqlite_url(tmp_path / "w.db"))
    await backend.open()
    try:
        g = await build_graph(backend, tmp_path / "projects")
        target = await g.add_target("here", LocalExecutor(env={
            "DOCKER_HOST": docker_engine.host,
            "DOCKER_CONFIG": str(compose_v2_config(tmp_path))}))
        for name, text, error in (("late", LATE_EXIT, "service last exited with code 4"),
                                  ("loop", LOOP, "service last is in a restart loop")):
            stack, _ = await g.stacks.create_stack(g.admin, name=name, compose_yaml=text)
            [dep] = await (await g.deployments.deploy(g.admin, stack.id, [target.id])).wait()
            assert dep.status is DeploymentStatus.FAILED, (name, dep.error)
            assert error in (dep.error or ""), (name, dep.error)
            stages = [(s.stage, s.outcome)
                      for s in await g.deployments.stages(g.admin, dep.id)]
            assert ("health", "failed") in stages and stages[-1] == ("rollback", "succeeded")
            assert docker_engine.cli("ps", "-aq", "--filter",
                                     f"label=com.docker.compose.project={dep.project_name}"
                                     ) == ""
    finally:
        await g.deployments.shutdown()
        await backend.close()


async def test_preflight_uses_a_fresh_scan(docker_engine: DockerEngine,  # noqa: F811
                                           tmp_path: Path) -> None:
    backend = SqlBackend(sqlite_url(tmp_path / "w.db"))
    await backend.open()
    try:
        g = await build_graph(backend, tmp_path / "projects")
        target = await g.add_target("here", LocalExecutor(env={
            "DOCKER_HOST": docker_engine.host,
            "DOCKER_CONFIG": str(compose_v2_config(tmp_path))}))
        stack, _ = await g.stacks.create_stack(g.admin, name="good", compose_yaml=GOOD)

        async def scanned(age: timedelta) -> None:
            at = utcnow() - age
            async with backend.unit_of_work() as uow:
                await uow.targets.set_capabilities(target.id, [
                    TargetCapability(target.id, "compose_v2", True, "2.99.0", scanned_at=at),
                    TargetCapability(target.id, "compose_v1", False, scanned_at=at)])
                await uow.commit()

        async def deploy_log() -> str:
            [dep] = await (await g.deployments.deploy(g.admin, stack.id, [target.id])).wait()
            assert dep.status is DeploymentStatus.SUCCEEDED, dep.error
            return "\n".join(x.line for x in await g.deployments.logs(g.admin, dep.id))

        await scanned(timedelta(seconds=5))
        text = await deploy_log()
        assert "Compose v2 2.99.0 (scan)" in text
        assert "each is watched until it has run 0.5 s" in text  # fresh containers
        await scanned(timedelta(days=2))  # stale: the target is asked again
        text = await deploy_log()
        assert "Compose v2 " in text and "2.99.0" not in text

        # a fresh scan that is wrong (Compose gone since): validate fails, nothing changes
        empty_bin = tmp_path / "nobin"
        empty_bin.mkdir()
        for tool in ("sh", "cat", "df", "grep", "tail", "printf", "mkdir", "rm", "chmod",
                     "date", "test"):
            (empty_bin / tool).symlink_to("/bin/busybox")
        target = await g.add_target("bare", LocalExecutor(env={
            "DOCKER_HOST": docker_engine.host, "PATH": str(empty_bin)}))
        await scanned(timedelta(minutes=5))  # (for the new target)
        [dep] = await (await g.deployments.deploy(g.admin, stack.id, [target.id])).wait()
        assert dep.status is DeploymentStatus.FAILED
        assert "scan it again" in (dep.error or "")  # whichever docker read failed first
        stages = [(s.stage, s.outcome) for s in await g.deployments.stages(g.admin, dep.id)]
        assert stages[-1] == ("validate", "failed")
        assert not (tmp_path / "projects" / dep.project_name / "compose.yaml").exists()
        assert not (tmp_path / "projects" / dep.project_name / "compose.yaml.next").exists()
    finally:
        await g.deployments.shutdown()
        await backend.close()
