"""The app process is SIGKILLed during ``up``; the next start reconciles the deployment
with the project's real state on the target and records what it found."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.env.docker import DockerEngine, docker_engine  # noqa: F401 - fixture
from tests.env.services import free_port
from tests.support.databases import sqlite_url
from tests.support.deploy import STACK, VARIABLES, build_graph, compose_v2_config
from windflow_desktop.domain.enums import DeploymentStage, DeploymentStatus
from windflow_desktop.engine.executor import LocalExecutor
from windflow_desktop.repositories.sql.backend import SqlBackend

CRASH_STACK = STACK.replace('      ADMIN_PASSWORD: "${ADMIN_PASSWORD}"\n', "")
CRASH_VARS = [v for v in VARIABLES if v["name"] != "ADMIN_PASSWORD"]


async def test_sigkill_during_up_then_reconcile(docker_engine: DockerEngine,  # noqa: F811
                                                tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "w.db")
    backend = SqlBackend(url)
    await backend.open()
    root = tmp_path / "projects"
    config = compose_v2_config(tmp_path)
    env = {"DOCKER_HOST": docker_engine.host, "DOCKER_CONFIG": str(config)}
    try:
        g = await build_graph(backend, root)
        target = await g.add_target("here", LocalExecutor(env=env))
        stack, _ = await g.stacks.create_stack(g.admin, name="Crash", compose_yaml=CRASH_STACK,
                                               variables=CRASH_VARS)
        port = str(free_port())
        child = subprocess.Popen(  # noqa: ASYNC220 - a real separate app process
            [sys.executable, "-m", "tests.support.deploy_child", url, str(stack.id),
             str(target.id), docker_engine.host, str(config), str(root), port,
             str(g.admin.user_id), str(g.org_id)],
            cwd=Path(__file__).parents[3], start_new_session=False)
        try:
            deadline = time.monotonic() + 60
            dep = None
            while time.monotonic() < deadline:
                page = await g.deployments.list_deployments(g.admin)
                # In up, and its command running: the files are put in place by the same
                # command, right before ``compose up`` (killed earlier, nothing started).
                if page.items and page.items[0].stage is DeploymentStage.UP and \
                        (root / page.items[0].project_name / ".env").exists():
                    dep = page.items[0]
                    break
                assert child.poll() is None, "the child ended before up"
                await asyncio.sleep(0.005)
            assert dep is not None, "the deployment never reached up"
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        assert not (root / "child-finished").exists()
        assert (await g.deployments.get(g.admin, dep.id)).status is DeploymentStatus.RUNNING

        # "the next start": a new service graph over the same workspace reconciles
        await asyncio.sleep(2)  # the orphaned compose process may still be finishing
        g2 = await build_graph(backend, root)
        g2.executors.by_target[target.id] = LocalExecutor(env=env)
        [settled] = await g2.deployments.reconcile_unfinished()
        running = docker_engine.cli(
            "ps", "--filter", f"label=com.docker.compose.project={dep.project_name}",
            "--format", "{{.Label \"com.docker.compose.service\"}}").split()
        truth = (DeploymentStatus.SUCCEEDED if sorted(running) == ["cache", "web", "worker"]
                 else DeploymentStatus.FAILED)
        assert settled.id == dep.id and settled.status is truth, (settled.error, running)
        stages = await g2.deployments.stages(g.admin, dep.id)
        assert stages[-1].stage == "reconcile" and stages[-1].finished_at is not None
        logs = "\n".join(x.line for x in await g2.deployments.logs(g.admin, dep.id))
        assert "Reconciling after a restart: found" in logs
        assert await g2.deployments.reconcile_unfinished() == []  # settled once
        await g2.deployments.remove(g.admin, dep.id, volumes=True)
        assert docker_engine.cli("ps", "-aq", "--filter",
                                 f"label=com.docker.compose.project={dep.project_name}") == ""
    finally:
        await backend.close()
