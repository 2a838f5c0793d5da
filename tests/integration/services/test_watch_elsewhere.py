"""The watch after a success runs in the process that ran the deployment (a server's
worker); a stop, start or remove, or a newer deployment, may run in another (the server's
API, another worker). Two deployment cores on one SQLite workspace and a real engine: the
action tells the watch through the database, the watch ends instead of rolling back, and
the action waits for it (their log lines and stage records never collide)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from tests.env.docker import DockerEngine, docker_engine  # noqa: F401 - fixture
from tests.support.deploy import DeployGraph, local_deploy_graph
from windflow_desktop.domain.enums import DeploymentStatus
from windflow_desktop.domain.models import Deployment, DeploymentStageRecord, Target, utcnow
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.deploy.core import DeploymentCore
from windflow_desktop.services.deploy.runners import new_runner_id
from windflow_desktop.services.deployments import DeploymentService

GOOD = """\
services:
  web:
    image: localhost/busybox
    command: ["sleep", "1000000"]
    stop_signal: SIGKILL
"""
DYING = GOOD.replace('["sleep", "1000000"]',
                     '["sh", "-c", "sleep 1.5; echo out of memory >&2; exit 7"]')
WATCH = {"watch_s": 6.0, "watch_poll_s": 0.3}


@asynccontextmanager
async def _two_processes(tmp_path: Path, engine: DockerEngine) -> AsyncIterator[
        tuple[DeployGraph, Target, DeploymentService, DeploymentCore]]:
    """The graph (the worker's process), its local target, and the same workspace served
    by another process (the API's): its own core, runner and watches."""
    async with local_deploy_graph(tmp_path, engine, WATCH) as (g, target):
        core = DeploymentCore(g.backend, g.bus, g.executors, g.secrets,
                              settings=g.core.settings, runner=new_runner_id())
        api = DeploymentService(ServiceContext(g.backend, g.bus), core, g.secrets)
        try:
            yield g, target, api, core
        finally:
            await api.shutdown()


async def _stages(g: DeployGraph, dep_id: uuid.UUID, via: DeploymentService | None = None
                  ) -> list[tuple[int, str, str, str]]:
    """(seq, stage, outcome, detail) of each stage record, as ``via`` (default: the
    graph's own service) reads them."""
    service = via or g.deployments
    return [(s.seq, s.stage, s.outcome, s.detail)
            for s in await service.stages(g.admin, dep_id)]


async def _deployed(g: DeployGraph, target: Target) -> Deployment:
    """The stack "app" (``GOOD``) deployed to ``target``: succeeded."""
    stack, _ = await g.stacks.create_stack(g.admin, name="app", compose_yaml=GOOD)
    [dep] = await (await g.deployments.deploy(g.admin, stack.id, [target.id])).wait()
    assert dep.status is DeploymentStatus.SUCCEEDED, dep.error
    return dep


def _running(engine: DockerEngine, project: str) -> list[str]:
    return engine.cli("ps", "-q", "--filter", "status=running", "--filter",
                      f"label=com.docker.compose.project={project}").split()


async def test_stop_start_remove_elsewhere_end_the_watch_instead_of_rolling_back(
        docker_engine: DockerEngine, tmp_path: Path) -> None:  # noqa: F811
    async with _two_processes(tmp_path, docker_engine) as (g, target, api, _):
        dep = await _deployed(g, target)
        # Seen succeeded from anywhere, its watch is seen running too.
        assert (await _stages(g, dep.id))[-1][1:3] == ("watch", "running")

        stopped = await api.stop(g.admin, dep.id)  # at once, inside the watch
        assert stopped.status is DeploymentStatus.STOPPED
        assert not _running(docker_engine, dep.project_name)
        await g.core.watching(dep.id)
        stages = await _stages(g, dep.id)
        watch = [s for s in stages if s[1] == "watch"]
        assert [s[2:] for s in watch] == [
            ("stopped", "the project was asked to stop, start or be removed")], stages
        assert [s[0] for s in stages] == list(range(1, len(stages) + 1)), stages
        assert "rollback" not in {s[1] for s in stages}, stages
        assert (await g.deployments.get(g.admin, dep.id)).status \
            is DeploymentStatus.STOPPED

        started = await api.start(g.admin, dep.id)
        assert started.status is DeploymentStatus.SUCCEEDED
        assert _running(docker_engine, dep.project_name)
        removed = await api.remove(g.admin, dep.id)
        assert removed.status is DeploymentStatus.REMOVED
        stages = await _stages(g, dep.id)
        assert [s[1:3] for s in stages[-3:]] == [
            ("stop", "succeeded"), ("start", "succeeded"), ("remove", "succeeded")]
        seqs = [x.seq for x in await g.deployments.logs(g.admin, dep.id, limit=5000)]
        assert seqs == list(range(1, len(seqs) + 1))  # one writer at a time


async def test_a_newer_deployment_elsewhere_ends_the_watch_of_a_dying_one(
        docker_engine: DockerEngine, tmp_path: Path) -> None:  # noqa: F811
    async with _two_processes(tmp_path, docker_engine) as (g, target, api, api_core):
        stack, _ = await g.stacks.create_stack(g.admin, name="app", compose_yaml=DYING)
        [dying] = await (await g.deployments.deploy(g.admin, stack.id,
                                                    [target.id])).wait()
        assert dying.status is DeploymentStatus.SUCCEEDED, dying.error
        await g.stacks.save_revision(g.admin, stack.id, compose_yaml=GOOD,
                                     message="fixed")
        [fixed] = await (await api.deploy(g.admin, stack.id, [target.id])).wait()
        assert fixed.status is DeploymentStatus.SUCCEEDED, fixed.error
        await g.core.watching(dying.id)
        watch = [s[2:] for s in await _stages(g, dying.id) if s[1] == "watch"]
        assert watch == [("stopped", "a newer deployment of this project started")]
        assert (await g.deployments.get(g.admin, dying.id)).status \
            is DeploymentStatus.SUCCEEDED  # ended by the newer one, not rolled back
        await api_core.watching(fixed.id)
        assert (await _stages(g, fixed.id))[-1][1:3] == ("watch", "succeeded")
        assert len(_running(docker_engine, fixed.project_name)) == 1


async def test_a_watch_left_running_by_a_process_that_is_gone_is_ended_by_an_action(
        docker_engine: DockerEngine, tmp_path: Path) -> None:  # noqa: F811
    async with local_deploy_graph(tmp_path, docker_engine,
                                  {"watch_s": 0, "watch_poll_s": 0.3}) as (g, target):
        dep = await _deployed(g, target)
        seq = len(await _stages(g, dep.id)) + 1
        async with g.backend.unit_of_work() as uow:  # its process was killed mid-watch
            await uow.deployments.save_stage(DeploymentStageRecord(
                dep.id, seq, "watch", utcnow(), None, "running", "checking for 10 s"))
            await uow.commit()
        stopped = await g.deployments.stop(g.admin, dep.id)
        assert stopped.status is DeploymentStatus.STOPPED
        stages = await _stages(g, dep.id)
        assert stages[seq - 1][1:] == ("watch", "stopped", "no process watched it any more")
        assert stages[-1][1:3] == ("stop", "succeeded")
        assert not _running(docker_engine, dep.project_name)


def _dead_pid() -> int:
    """The pid of a process that has ended."""
    child = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True,
                           check=True)
    return int(child.stdout)


async def test_a_watch_left_running_is_ended_when_read_once_its_process_is_gone(
        docker_engine: DockerEngine, tmp_path: Path) -> None:  # noqa: F811
    async with _two_processes(tmp_path, docker_engine) as (g, target, api, _):
        dep = await _deployed(g, target)
        # Read from another process while the watch lives: it stays running.
        assert (await _stages(g, dep.id, via=api))[-1][1:3] == ("watch", "running")
        await g.core.watching(dep.id)
        assert (await _stages(g, dep.id))[-1][1:3] == ("watch", "succeeded")

        cases = {  # the runner that held the watch, and its last heartbeat
            "gone from this machine": (f"{socket.gethostname()}:{_dead_pid()}:0a1b2c3d",
                                       utcnow()),
            "silent on another machine": ("elsewhere:41:0a1b2c3d",
                                          utcnow() - timedelta(minutes=5)),
            "alive on another machine": ("elsewhere:42:0a1b2c3d", utcnow()),
        }
        for case, (runner, beat) in cases.items():
            seq = len(await _stages(g, dep.id)) + 1
            async with g.backend.unit_of_work() as uow:  # a watch whose process was...
                await uow.deployments.save_stage(DeploymentStageRecord(
                    dep.id, seq, "watch", utcnow(), None, "running", "checking for 10 s"))
                await uow.deployments.heartbeat([dep.id], runner, beat)
                await uow.commit()
            seen = (await _stages(g, dep.id, via=api))[seq - 1][1:]
            if case == "alive on another machine":
                assert seen == ("watch", "running", "checking for 10 s"), case
            else:
                assert seen == ("watch", "stopped", "no process watched it any more"), case
                # stored so: every later read agrees
                assert (await _stages(g, dep.id))[seq - 1][1:] == seen, case
        assert (await g.deployments.get(g.admin, dep.id)).status \
            is DeploymentStatus.SUCCEEDED


async def test_a_watch_beats_so_a_long_one_is_not_taken_for_a_dead_one(
        docker_engine: DockerEngine, tmp_path: Path) -> None:  # noqa: F811
    settings = {"watch_s": 6.0, "watch_poll_s": 0.3, "heartbeat_s": 0.2,
                "runner_stale_s": 2.0}
    async with local_deploy_graph(tmp_path, docker_engine, settings) as (g, target):
        core = DeploymentCore(g.backend, g.bus, g.executors, g.secrets,
                              settings=g.core.settings, runner="elsewhere:7:0a1b2c3d")
        api = DeploymentService(ServiceContext(g.backend, g.bus), core, g.secrets)
        try:
            dep = await _deployed(g, target)
            # Another machine's view of the row, well past runner_stale_s into the watch.
            await asyncio.sleep(4.0)
            stages = await _stages(g, dep.id, via=api)
            assert stages[-1][1:3] == ("watch", "running"), stages
            await g.core.watching(dep.id)
            assert (await _stages(g, dep.id))[-1][1:3] == ("watch", "succeeded")
        finally:
            await api.shutdown()

