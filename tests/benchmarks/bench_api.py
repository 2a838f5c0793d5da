"""``windflow serve`` on loopback, the SQLite workspace, as a team would use it.

``api_deployments_page_p50_ms``: ``GET /api/v1/deployments?limit=100`` (authenticated)
over 100,000 deployments, median of 30 (goal ≤ 15). ``api_requests_per_s``:
authenticated ``GET /api/v1/targets`` from 50 concurrent connections for 10 s, by
``wrk`` (goal ≥ 1,500). ``sse_fanout_p99_ms``: 100 event streams open, 1,000 events
(stacks created), publish → received, the 99th percentile over every (event, stream)
(goal ≤ 250). ``server_idle_rss_mb``: the server process's resident memory once idle
after those (goal ≤ 150).
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from tests.benchmarks import benchmark
from tests.benchmarks.bench_database import seed_history
from tests.support.server import running_server, windflow
from windflow_desktop.config import load_settings
from windflow_desktop.repositories.sql.backend import SqlBackend

PASSWORD = "correct horse battery staple"
STREAMS = 100
EVENTS = 1_000


async def _seed(home: Path) -> None:
    backend = SqlBackend(load_settings({"WINDFLOW_HOME": str(home)}).database_url)
    await backend.open()
    try:
        async with backend.unit_of_work() as uow:
            user = await uow.users.get_by_login("olga")
            assert user is not None
            [membership] = await uow.memberships.for_user(user.id)
        await seed_history(backend, (membership.organization_id, user.id))
    finally:
        await backend.close()


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _requests_per_s(url: str, token: str) -> float | None:
    if shutil.which("wrk") is None:
        return None
    done = subprocess.run(
        ["wrk", "-t", "2", "-c", "50", "-d", "10s", "-H", f"Authorization: Bearer {token}",
         f"{url}/api/v1/targets?limit=20"], capture_output=True, text=True, check=True)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    assert errors is None, done.stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout).group(1))  # type: ignore[union-attr]


async def _fanout(url: str, token: str) -> list[float]:
    """Latencies (ms) from each event's timestamp to its arrival on each stream."""
    latencies: list[float] = []
    ready = 0
    all_ready = asyncio.Event()
    seen = 0
    all_seen = asyncio.Event()

    async def listen(client: httpx.AsyncClient) -> None:
        nonlocal ready, seen
        async with client.stream("GET", f"{url}/api/v1/events",
                                 headers={"Authorization": f"Bearer {token}"}) as response:
            kind = ""
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "ready":
                    ready += 1
                    if ready == STREAMS:
                        all_ready.set()
                elif line.startswith("data: ") and kind == "stack.created":
                    event = json.loads(line[6:])
                    sent = datetime.fromisoformat(event["timestamp"]).timestamp()
                    latencies.append((time.time() - sent) * 1000)
                    seen += 1
                    if seen == STREAMS * EVENTS:
                        all_seen.set()
                        return

    limits = httpx.Limits(max_connections=STREAMS + 10)
    async with httpx.AsyncClient(timeout=httpx.Timeout(60, read=None), limits=limits) as c:
        listeners = [asyncio.create_task(listen(c)) for _ in range(STREAMS)]
        await asyncio.wait_for(all_ready.wait(), 60)
        auth = {"Authorization": f"Bearer {token}"}
        for n in range(EVENTS):
            made = await c.post(f"{url}/api/v1/stacks", headers=auth, json={
                "name": f"Fan {n} {uuid.uuid4().hex[:6]}",
                "compose_yaml": "services:\n  web:\n    image: nginx\n"})
            assert made.status_code == 201, made.text
        await asyncio.wait_for(all_seen.wait(), 120)
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
    return latencies


@benchmark("api")
async def bench_api() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        made = windflow(home, "create-owner", "olga", "--org", "Acme",
                        stdin=PASSWORD + "\n")
        assert made.returncode == 0, made.stderr
        await _seed(home)
        with running_server(home) as server, server.client() as http:
            tokens = http.post("/api/v1/auth/login",
                               json={"username": "olga", "password": PASSWORD}).json()
            auth = {"Authorization": f"Bearer {tokens['access_token']}"}
            timings = []
            for _ in range(33):
                started = time.perf_counter()
                page = http.get("/api/v1/deployments", headers=auth, params={"limit": 100})
                timings.append((time.perf_counter() - started) * 1000)
                assert page.status_code == 200 and len(page.json()["items"]) == 100
            page_ms = statistics.median(timings[3:])
            per_s = await asyncio.to_thread(_requests_per_s, server.url,
                                            tokens["access_token"])
            latencies = sorted(await _fanout(server.url, tokens["access_token"]))
            p99 = latencies[int(len(latencies) * 0.99) - 1]
            await asyncio.sleep(3)
            rss = _rss_mb(server.process.pid)
    return {"api_deployments_page_p50_ms": round(page_ms, 1),
            "api_requests_per_s": None if per_s is None else round(per_s),
            "sse_fanout_p99_ms": round(p99, 1),
            "sse_fanout_p50_ms": round(latencies[len(latencies) // 2], 1),
            "server_idle_rss_mb": round(rss, 1)}
