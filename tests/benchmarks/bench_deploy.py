"""``deploy_overhead_ratio``: WindFlow's pipeline deploying the 3-service busybox stack to
a local target (Compose v2), divided by plain ``docker compose up -d`` plus polling until
every container runs, on the same engine, both from a cold project (median of 5 each).
The target is scanned first, as the add-target wizard does (preflight then takes the
Compose flavour from the scan). The time runs until the deployment has succeeded (the
watch that follows success is stopped by the removal after it). Also reported: both
medians and the ratio for a target never scanned (preflight then asks the target which
Compose it has).

``log_lines_per_s``: 50,000 log lines through the pipeline's ``LogWriter`` — numbered,
stored in the SQLite workspace and delivered to a ``LocalBus`` subscriber — per second.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from tests.env.docker import start_docker
from tests.env.keyring_backend import MemoryKeyring
from tests.env.services import free_port
from tests.support.deploy import STACK, VARIABLES, build_graph, compose_v2_config
from windflow_desktop.domain.enums import DeploymentStatus
from windflow_desktop.domain.models import Deployment
from windflow_desktop.engine.executor import LocalExecutor
from windflow_desktop.engine.scanner import SCAN_SCRIPT, parse_scan
from windflow_desktop.events.local import LocalBus
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.deploy.context import PipelineSettings
from windflow_desktop.services.deploy.core import DeploymentCore
from windflow_desktop.services.deploy.logs import LogWriter

from . import benchmark

RUNS = 5
LOG_LINES = 50_000


def _baseline(engine_host: str, config: Path, workdir: Path, port: int) -> float:
    project = f"base-{uuid.uuid4().hex[:8]}"
    (workdir / "compose.yaml").write_text(STACK)
    (workdir / ".env").write_text(f"GREETING=x\nWEB_PORT={port}\nADMIN_PASSWORD=pw\n")
    env = {"DOCKER_HOST": engine_host, "DOCKER_CONFIG": str(config), "PATH": "/usr/local/bin:"
           "/usr/bin:/bin"}
    base = ["docker", "compose", "-p", project, "--project-directory", str(workdir)]
    started = time.perf_counter()
    subprocess.run([*base, "up", "-d", "--remove-orphans"], env=env, check=True,
                   capture_output=True)
    while True:
        out = subprocess.run(
            ["docker", "ps", "--filter", f"label=com.docker.compose.project={project}",
             "--filter", "status=running", "-q"], env=env, capture_output=True, text=True)
        if len(out.stdout.split()) == 3:
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    subprocess.run([*base, "down", "-v", "-t", "0"], env=env, capture_output=True)
    return elapsed


async def _windflow(backend: SqlBackend, engine_host: str, config: Path, root: Path, *,
                    scanned: bool = True) -> float:
    g = await build_graph(backend, root)
    executor = LocalExecutor(env={"DOCKER_HOST": engine_host, "DOCKER_CONFIG": str(config)})
    target = await g.add_target(f"here-{uuid.uuid4().hex[:6]}", executor)
    if scanned:
        scan = parse_scan(target.id, (await executor.run(SCAN_SCRIPT)).stdout)
        async with backend.unit_of_work() as uow:
            await uow.targets.set_capabilities(target.id, list(scan.capabilities))
            await uow.commit()
    stack, _ = await g.stacks.create_stack(g.admin, name="Bench", compose_yaml=STACK,
                                           variables=VARIABLES)
    port = free_port()
    started = time.perf_counter()
    rollout = await g.deployments.deploy(g.admin, stack.id, [target.id],
                                         variables={"GREETING": "x", "WEB_PORT": str(port)})
    [dep] = await rollout.wait()
    elapsed = time.perf_counter() - started
    assert dep.status is DeploymentStatus.SUCCEEDED, dep.error
    await g.deployments.remove(g.admin, dep.id, volumes=True)
    await g.deployments.shutdown()
    return elapsed


@benchmark("deploy_overhead")
async def bench_deploy_overhead() -> dict[str, Any]:
    engine = start_docker()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp)
            config = compose_v2_config(base)
            backend = SqlBackend(f"sqlite+aiosqlite:///{base / 'w.db'}")
            await backend.open()
            try:
                await _windflow(backend, engine.host, config, base / "p")  # warm-up
                plain, wf, unscanned = [], [], []
                for i in range(RUNS):
                    work = base / f"b{i}"
                    work.mkdir()
                    plain.append(await asyncio.to_thread(
                        _baseline, engine.host, config, work, free_port()))
                    wf.append(await _windflow(backend, engine.host, config, base / "p"))
                    unscanned.append(await _windflow(backend, engine.host, config, base / "p",
                                                     scanned=False))
            finally:
                await backend.close()
    finally:
        engine.stop()
    p, w = statistics.median(plain), statistics.median(wf)
    settings = PipelineSettings()
    return {"deploy_overhead_ratio": round(w / p, 2),
            "deploy_overhead_ratio_unscanned": round(statistics.median(unscanned) / p, 2),
            "deploy_settle_s": settings.settle_s, "deploy_watch_s": settings.watch_s,
            "deploy_plain_compose_s": round(p, 2), "deploy_windflow_s": round(w, 2)}


@benchmark("log_lines")
async def bench_log_lines() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        backend = SqlBackend(f"sqlite+aiosqlite:///{Path(tmp) / 'w.db'}")
        await backend.open()
        bus = LocalBus()
        await bus.start()
        try:
            g = await build_graph(backend, Path(tmp))
            target = await g.add_target("t", LocalExecutor())
            stack, rev = await g.stacks.create_stack(g.admin, name="S", compose_yaml=STACK,
                                                     variables=VARIABLES)
            async with backend.unit_of_work() as uow:
                dep = await uow.deployments.add(Deployment(
                    organization_id=g.org_id, stack_id=stack.id, revision_id=rev.id,
                    target_id=target.id, project_name="p"))
                await uow.commit()
            core = DeploymentCore(backend, bus, g.executors,
                                          SecretStore(MemoryKeyring()))
            delivered = 0
            done = asyncio.Event()

            def on_log(event: Any) -> None:
                nonlocal delivered
                delivered += len(event.data["lines"])
                if delivered >= LOG_LINES:
                    done.set()

            bus.subscribe(on_log, ["deployment.log"])
            writer = LogWriter(core.context, dep, 0, [])
            started = time.perf_counter()
            writer.start()
            for i in range(LOG_LINES):
                writer.add("stdout", f"line {i} of the benchmark output, like compose prints")
                if i % 500 == 499:
                    await asyncio.sleep(0)  # a command's output arrives in chunks
            await writer.close()
            try:
                await asyncio.wait_for(done.wait(), 20)
            except TimeoutError:
                raise AssertionError(f"delivered {delivered} of {LOG_LINES} lines") from None
            elapsed = time.perf_counter() - started
            async with backend.unit_of_work() as uow:
                stored = await uow.deployments.last_log_seq(dep.id)
            assert stored == LOG_LINES and delivered == LOG_LINES
        finally:
            await bus.close()
            await backend.close()
    return {"log_lines_per_s": round(LOG_LINES / elapsed)}
