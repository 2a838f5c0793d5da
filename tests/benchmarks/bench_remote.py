"""The desktop working through a real ``windflow serve`` on loopback (SQLite, in-process
bus), as a teammate's desktop does.

``remote_startup_ready_ms``: ``windflow-desktop --smoke`` with ``WINDFLOW_SERVER_URL`` and
a personal access token — process start → the first page painted with the server's data
(the app's own ``ready_ms``), median of 3 (goal ≤ 1,000). ``remote_event_latency_p50_ms``:
a stack created through the API → its event delivered by the desktop's ``RemoteBus``
(server publish → handler; the store applies a batch at the next frame), median of 200
(goal ≤ 20). ``remote_log_lines_per_s``: a container printing 200,000 lines, followed
through the server (``RemoteContainers.follow_logs``: engine → server → SSE → desktop)
(goal ≥ 10,000).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from tests.benchmarks import benchmark
from tests.support.server import PASSWORD, create_owner, running_server
from windflow_desktop.domain.events import Event
from windflow_desktop.domain.identity import Principal
from windflow_desktop.remote.client import ServerSession
from windflow_desktop.remote.containers import RemoteContainers
from windflow_desktop.remote.events import RemoteBus

LINES = 200_000
EVENTS = 200
NOBODY = Principal(uuid.uuid4(), uuid.uuid4(), None)


def _smoke_ms(url: str, token: str, home: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WINDFLOW_")}
    env.update(WINDFLOW_HOME=str(home), WINDFLOW_SERVER_URL=url, WINDFLOW_SERVER_TOKEN=token,
               QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
               PYTHON_KEYRING_BACKEND="tests.env.keyring_backend.MemoryKeyring")
    done = subprocess.run([sys.executable, "-m", "windflow_desktop", "--smoke"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return float(json.loads(done.stdout.strip().splitlines()[-1])["ready_ms"])


async def _event_latencies(session: ServerSession) -> list[float]:
    bus = RemoteBus(session)
    latencies: list[float] = []
    seen = asyncio.Event()

    def heard(event: Event) -> None:
        if event.event_type == "stack.created":
            latencies.append((time.time() - event.timestamp.timestamp()) * 1000)
            if len(latencies) == EVENTS:
                seen.set()

    bus.subscribe(heard)
    await bus.start()
    try:
        for _ in range(100):  # until the stream is open
            if str(bus.state) == "connected":
                break
            await asyncio.sleep(0.05)
        for n in range(EVENTS):
            await session.request("POST", "/stacks", json={
                "name": f"lat {n} {uuid.uuid4().hex[:6]}",
                "compose_yaml": "services:\n  web:\n    image: nginx\n"})
            await asyncio.sleep(0.01)
        await asyncio.wait_for(seen.wait(), 60)
    finally:
        await bus.close()
    return latencies


async def _log_rate(session: ServerSession, docker: Any) -> float:
    made = await session.request("POST", "/targets", json={
        "name": "bench", "kind": "local", "docker_socket": docker.host})
    target = uuid.UUID(made["id"])
    name = f"lines-{uuid.uuid4().hex[:6]}"
    from tests.env.docker import BUSYBOX_IMAGE

    docker.cli("run", "-d", "--name", name, "--network", "none", BUSYBOX_IMAGE, "sh", "-c",
               f"sleep 2; seq 1 {LINES}; sleep 600")
    try:
        containers = RemoteContainers(session)
        count, started = 0, 0.0
        async for line in containers.follow_logs(NOBODY, target, name, tail=0):
            if count == 0:
                started = time.perf_counter()
            count += 1
            if line.strip() == str(LINES):
                break
        return count / (time.perf_counter() - started)
    finally:
        docker.cli("rm", "-f", name)


@benchmark("remote")
async def bench_remote() -> dict[str, Any]:
    from tests.env.docker import start_docker

    docker = start_docker()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            create_owner(home / "server")
            with running_server(home / "server") as server:
                session = ServerSession(server.url)
                try:
                    await session.login("olga", PASSWORD)
                    token = (await session.request("POST", "/auth/tokens", json={
                        "name": "bench", "expires_in_days": 1}))["token"]
                    startup = [await asyncio.to_thread(_smoke_ms, server.url, token,
                                                       home / f"desk{n}") for n in range(3)]
                    latencies = await _event_latencies(session)
                    rate = await _log_rate(session, docker)
                finally:
                    await session.close()
    finally:
        docker.stop()
    print(f"# remote: start-up {startup} ms; event latency p50 "
          f"{statistics.median(latencies):.1f} ms over {len(latencies)}; "
          f"{rate:,.0f} log lines/s", flush=True)
    return {"remote_startup_ready_ms": round(statistics.median(startup)),
            "remote_event_latency_p50_ms": round(statistics.median(latencies), 1),
            "remote_event_latency_p99_ms": round(sorted(latencies)[int(len(latencies) * .99)
                                                                  - 1], 1),
            "remote_log_lines_per_s": round(rate)}


