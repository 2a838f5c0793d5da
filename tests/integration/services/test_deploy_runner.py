"""Which process runs a deployment: start-up reconciliation (and the periodic sweep) leave
alone what another live window runs, on this machine (its process exists) or another (its
heartbeat is fresh), and settle what a dead one left."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from datetime import timedelta
from pathlib import Path

from tests.env.docker import DockerEngine, docker_engine  # noqa: F401 - fixture
from tests.support.databases import sqlite_url
from tests.support.deploy import DeployGraph, build_graph, local_deploy_graph
from windflow_desktop.domain.enums import DeploymentStage, DeploymentStatus
from windflow_desktop.domain.models import Deployment, utcnow
from windflow_desktop.engine.executor import LocalExecutor
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.deploy.core import DeploymentCore
from windflow_desktop.services.deployments import DeploymentService

SLOW = """\
services:
  slow:
    image: localhost/busybox
    command: ["sh", "-c", "sleep 3; touch /ready; exec sleep 1000000"]
    healthcheck:
      test: ["CMD-SHELL", "test -f /ready"]
      interval: 1s
      timeout: 1s
      retries: 30
    stop_signal: SIGKILL
"""


def _other_window(g: DeployGraph, runner: str) -> DeploymentService:
    """A second app window on the same workspace: its own pipeline and runner id."""
    core = DeploymentCore(g.backend, g.bus, g.executors, g.secrets,
                                  settings=g.core.settings, runner=runner)
    return DeploymentService(ServiceContext(g.backend, g.bus), core, g.secrets)


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


async def test_reconcile_settles_only_what_no_live_process_runs(tmp_path: Path) -> None:
    backend = SqlBackend(sqlite_url(tmp_path / "w.db"))
    await backend.open()
    other: DeploymentService | None = None
    try:
        g = await build_graph(backend, tmp_path / "projects")
        target = await g.add_target("gone", LocalExecutor())
        del g.executors.by_target[target.id]  # unreachable: reconciling it fails it
        stack, rev = await g.stacks.create_stack(g.admin, name="S", compose_yaml=SLOW)
        here = socket.gethostname()
        now = utcnow()
        cases = {
            "elsewhere, fresh heartbeat": ("far-away:42", now, True),
            "elsewhere, silent for 2 min": ("far-away:42", now - timedelta(minutes=2), False),
            "this machine, process gone": (f"{here}:{_dead_pid()}", now, False),
            "this machine, process gone (with nonce)": (f"{here}:{_dead_pid()}:0a1b2c3d", now,
                                                        False),
            "this window, but no pipeline holds it": (f"{here}:1", now, False),
            "this machine, process alive": (f"{here}:{os.getpid()}", now, True),
            "no runner (older version)": (None, None, False),
        }
        ids = {}
        async with backend.unit_of_work() as uow:
            for name, (runner, beat, _) in cases.items():
                dep = await uow.deployments.add(Deployment(
                    organization_id=g.org_id, stack_id=stack.id, revision_id=rev.id,
                    target_id=target.id, project_name=f"p{len(ids)}",
                    status=DeploymentStatus.RUNNING, stage=DeploymentStage.UP,
                    runner=runner, heartbeat_at=beat))
                ids[name] = dep.id
            await uow.commit()
        other = _other_window(g, f"{here}:1")  # the restarted app, on this machine
        settled = {d.id for d in await other.reconcile_unfinished()}
        for name, (_, _, live) in cases.items():
            dep = await g.core.get(ids[name])
            if live:
                assert ids[name] not in settled and dep.status is DeploymentStatus.RUNNING, name
            else:
                assert ids[name] in settled and dep.status is DeploymentStatus.FAILED, name
                assert "could not be reached" in (dep.error or ""), name
    finally:
        if other is not None:
            await other.shutdown()
        await g.deployments.shutdown()
        await backend.close()


async def test_a_deployment_another_window_runs_is_left_to_it(
        docker_engine: DockerEngine, tmp_path: Path) -> None:  # noqa: F811
    other: DeploymentService | None = None
    async with local_deploy_graph(tmp_path, docker_engine, {"watch_s": 0}) as (g, target):
        try:
            stack, _ = await g.stacks.create_stack(g.admin, name="slow", compose_yaml=SLOW)
            rollout = await g.deployments.deploy(g.admin, stack.id, [target.id])
            [dep] = rollout.deployments
            for _ in range(200):  # until it waits in health (the service needs ~3 s)
                current = await g.core.get(dep.id)
                if current.stage is DeploymentStage.HEALTH:
                    break
                await asyncio.sleep(0.05)
            assert current.runner == g.core.runner and current.heartbeat_at is not None

            # another window starts on the same workspace meanwhile: it leaves it alone
            other = _other_window(g, "second-window:1")
            assert await other.reconcile_unfinished() == []
            assert (await g.core.get(dep.id)).status is DeploymentStatus.RUNNING

            [ended] = await rollout.wait()
            assert ended.status is DeploymentStatus.SUCCEEDED, ended.error
            stages = [s.stage for s in await g.deployments.stages(g.admin, dep.id)]
            assert "reconcile" not in stages
            await g.deployments.remove(g.admin, dep.id, volumes=True)
        finally:
            if other is not None:
                await other.shutdown()
