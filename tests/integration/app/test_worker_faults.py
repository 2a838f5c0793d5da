"""Worker fault tests (issue #14) on real Redis, PostgreSQL, sshd and dockerd: three
``windflow worker`` processes, thirty deployments over ten SSH targets, one worker
SIGKILLed in the middle of ``up``; Redis restarted while jobs are queued (and what the API
answers while it is down); the API process killed and started again while deployments
run on workers.

The ten SSH targets are ten target records with distinct names for the one test sshd
(and so the one test dockerd behind it); every deployment has its own Compose project
(three stacks on ten targets)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from tests.env.docker import DockerEngine
from tests.env.redis import RedisServer
from tests.env.services import wait_for_port
from tests.env.sshd import SshServer
from tests.support.server import EventStream
from tests.support.workers import (
    Site,
    deploy,
    deployment,
    ended,
    first_in_up,
    new_stack,
    rows,
    runner_pid,
    site,
    ssh_targets,
    stages,
    start_worker,
    wait_all,
)
from windflow_desktop.events.redis_jobs import DEAD_STREAM, JOBS_GROUP, JOBS_STREAM

pytestmark = pytest.mark.postgres

FAST = {"WINDFLOW_WORKER_LEASE_S": "2", "WINDFLOW_WORKER_WATCH_S": "1"}
# Healthy a few seconds after ``up``: the run is still going when the API is restarted.
SLOW = """\
services:
  app:
    image: localhost/busybox
    command: ["sh", "-c", "sleep {delay}; touch /ready; exec sleep 1000000"]
    healthcheck:
      test: ["CMD-SHELL", "test -f /ready"]
      interval: 1s
      retries: 60
    stop_signal: SIGKILL
"""


def _workers_alive(s: Site, count: int, timeout: float = 60) -> None:
    """Wait until ``count`` workers beat (they take jobs from then on)."""
    deadline = time.monotonic() + timeout
    while len(seen := s.http.get("/api/v1/workers", headers=s.auth).json()["workers"]) \
            < count:
        assert time.monotonic() < deadline, seen
        time.sleep(0.1)


def _at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def containers(docker: DockerEngine, project: str) -> list[str]:
    """The states of the project's containers on the target's engine (what ``docker
    compose ps -a`` lists: containers labelled with the project)."""
    out = docker.cli("ps", "-a", "--filter", f"label=com.docker.compose.project={project}",
                     "--format", "{{.State}}")
    return out.split()


def assert_true_state(docker: DockerEngine, dep: dict[str, Any]) -> None:
    states = containers(docker, dep["project_name"])
    if dep["status"] == "succeeded":
        assert states == ["running"], (dep, states)
    else:
        assert dep["status"] == "failed" and dep["error"], dep
        assert "running" not in states, (dep, states)


def assert_no_overlapping_up(by_project: dict[str, list[dict[str, Any]]],
                             killed_at: datetime) -> None:
    """Per project, the ``up`` stages recorded never overlap in time (an ``up`` left open
    by the killed worker ends, at the latest, when it was killed), and whatever a later
    run recorded started after the earlier run's last moment."""
    for project, records in by_project.items():
        ups = sorted(((_at(s["started_at"]), _at(s["finished_at"]) or killed_at)
                      for s in records if s["stage"] == "up"), key=lambda r: r[0])
        for (_, end), (start, _) in pairwise(ups):
            assert start is not None and end is not None and start > end, (project, records)


def queue_settled(redis: RedisServer, timeout: float = 30) -> None:
    """Every job acknowledged (the watch after a success holds its job a little)."""
    client = redis.client()
    deadline = time.monotonic() + timeout
    while client.xpending(JOBS_STREAM, JOBS_GROUP)["pending"]:
        assert time.monotonic() < deadline, client.xpending(JOBS_STREAM, JOBS_GROUP)
        time.sleep(0.1)
    [group] = [g for g in client.xinfo_groups(JOBS_STREAM) if g["name"] == JOBS_GROUP.encode()]
    assert group["lag"] == 0 and group["pending"] == 0, group  # every job was delivered
    assert client.xlen(DEAD_STREAM) == 0


@pytest.mark.timeout(300)
def test_thirty_deployments_on_three_workers_survive_one_killed_in_up(
        tmp_path: Path, postgres_url: str, redis_server: RedisServer,
        sshd_server: SshServer, docker_engine: DockerEngine) -> None:
    started = time.monotonic()
    with site(tmp_path, postgres_url, redis_server.url, **FAST) as s:
        targets = ssh_targets(s, sshd_server, 10)
        stacks = [new_stack(s, f"Tiny {n}") for n in range(3)]
        ids = []
        for stack in stacks:
            for target in targets:
                made = deploy(s, stack, target)
                assert made.status_code == 202, made.text
                ids.extend(d["id"] for d in made.json()["deployments"])
        assert len(ids) == 30
        for n in range(3):
            start_worker(s, tmp_path / f"w{n}.log")

        victim = first_in_up(postgres_url)
        pid = runner_pid(victim["runner"])
        [killed] = [w for w in s.workers if w.pid == pid]
        os.kill(pid, signal.SIGKILL)
        killed.wait()
        killed_at = datetime.now().astimezone()
        # The row says where the dead worker stopped: in ``up``, on its first claim.
        [row] = rows(postgres_url, "SELECT stage, attempt, status FROM deployments "
                     "WHERE id = $1", victim["id"])
        assert (row["stage"], row["attempt"], row["status"]) == ("up", 1, "running"), row

        done = wait_all(s, ids, timeout=200)
        queue_settled(redis_server)
        logs = "".join((tmp_path / f"w{n}.log").read_text() for n in range(3))
        assert "Traceback" not in logs, logs

        # Every deployment ended in a true terminal state: what the target runs.
        for dep in done.values():
            assert dep["status"] in ("succeeded", "failed"), dep
            assert_true_state(docker_engine, dep)
        failed = [d for d in done.values() if d["status"] != "succeeded"]
        assert [d["id"] for d in failed] in ([], [str(victim["id"])]), failed

        # Claimed once each, but the killed one twice: by the dead worker, then by the
        # worker that settled it from the target's state.
        attempts = {str(r["id"]): (r["attempt"], r["runner"]) for r in rows(
            postgres_url, "SELECT id, attempt, runner FROM deployments")}
        assert {i: a for i, (a, _) in attempts.items() if i != str(victim["id"])} == \
            {i: 1 for i in ids if i != str(victim["id"])}
        attempt, runner = attempts[str(victim["id"])]
        assert attempt == 2 and f":{pid}:" not in runner, (attempt, runner)

        by_project = {done[i]["project_name"]: stages(s, i) for i in ids}
        assert len(by_project) == 30  # a Compose project per deployment
        assert_no_overlapping_up(by_project, killed_at)
        taken_over = by_project[victim["project_name"]]
        names = [r["stage"] for r in taken_over]
        assert names.count("up") == 1 and "reconcile" in names, taken_over
        reconcile = next(r for r in taken_over if r["stage"] == "reconcile")
        assert _at(reconcile["started_at"]) > max(  # type: ignore[operator]
            _at(r["started_at"]) for r in taken_over if r["stage"] != "reconcile")
        others = [n for p, n in by_project.items() if p != victim["project_name"]]
        assert all([r["stage"] for r in recs].count("up") == 1 for recs in others)
        [span] = rows(postgres_url, "SELECT extract(epoch FROM max(finished_at) - "
                      "min(started_at)) AS runs, percentile_cont(0.5) WITHIN GROUP (ORDER BY "
                      "extract(epoch FROM finished_at - started_at)) AS each "
                      "FROM deployments")
    print(f"30 deployments, 3 workers, one killed: {time.monotonic() - started:.0f} s in "
          f"all, {span['runs']:.0f} s from the first run to the last end, "
          f"{span['each']:.1f} s each (median, the 1 s watch included)")


class AofRedis(RedisServer):
    """A Redis with ``appendonly yes`` and ``appendfsync always``: one SIGKILLed keeps
    every write it acknowledged."""

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.workdir),
             "--logfile", str(self.workdir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, timeout=10)


@pytest.fixture(params=["shutdown-save", "sigkill-appendonly"])
def restartable_redis(request: pytest.FixtureRequest, redis_server: RedisServer,
                      tmp_path: Path) -> Iterator[tuple[RedisServer, Callable[[], None]]]:
    """A Redis and how it goes down: ``SHUTDOWN SAVE`` (a clean restart, its data in
    its RDB file), or SIGKILL of one that logs every write (appendonly)."""
    if request.param == "shutdown-save":
        yield redis_server, lambda: redis_server.stop(persist=True)
        return
    (tmp_path / "aof").mkdir()
    server = AofRedis(redis_server.binary, tmp_path / "aof")
    server.start()
    try:
        yield server, server.kill
    finally:
        server.stop()


@pytest.mark.timeout(240)
def test_jobs_queued_across_a_redis_restart_run_once(
        tmp_path: Path, postgres_url: str,
        restartable_redis: tuple[RedisServer, Callable[[], None]],
        sshd_server: SshServer, docker_engine: DockerEngine) -> None:
    redis_server, go_down = restartable_redis
    with site(tmp_path, postgres_url, redis_server.url, **FAST) as s:
        targets = ssh_targets(s, sshd_server, 3)
        stack = new_stack(s, "Queued")
        ids = [deploy(s, stack, t).json()["deployments"][0]["id"] for t in targets]
        assert {deployment(s, i)["status"] for i in ids} == {"pending"}
        client = redis_server.client()
        assert client.xlen(JOBS_STREAM) == 3

        # Redis goes down (its data on disk) and stays down a while.
        go_down()
        late = new_stack(s, "Late")
        during = deploy(s, late, targets[0])
        keyed = deploy(s, late, targets[1], key="while-down")
        redis_server.start()

        # While it was down the API refused with 503 and why. The deployment it had
        # recorded failed at once with the reason: nothing is left pending that no
        # worker would ever take. With an Idempotency-Key (kept in Redis) nothing was
        # recorded.
        for refused in (during, keyed):
            assert refused.status_code == 503, refused.text
            assert refused.json()["error"] == "QUEUE_UNAVAILABLE", refused.text
            assert "the job queue cannot be reached" in refused.json()["message"]
        [lost] = s.http.get("/api/v1/deployments", headers=s.auth,
                            params={"stack_id": late}).json()["items"]
        assert lost["status"] == "failed", lost
        assert "the job queue could not take it" in lost["error"], lost

        assert client.xlen(JOBS_STREAM) == 3  # the queued jobs survived the restart
        for n in range(2):
            start_worker(s, tmp_path / f"w{n}.log")
        done = wait_all(s, ids, timeout=120)
        assert {d["status"] for d in done.values()} == {"succeeded"}, done
        queue_settled(redis_server)
        attempts = rows(postgres_url, "SELECT id, attempt FROM deployments "
                        "WHERE id = ANY($1::uuid[])", ids)
        assert sorted(r["attempt"] for r in attempts) == [1, 1, 1]  # each ran once
        for dep_id in ids:
            assert [r["stage"] for r in stages(s, dep_id)].count("up") == 1
            assert_true_state(docker_engine, done[dep_id])
        assert containers(docker_engine, lost["project_name"]) == []  # never run


@pytest.mark.timeout(240)
def test_deployments_keep_running_and_their_events_arrive_across_an_api_restart(
        tmp_path: Path, postgres_url: str, redis_server: RedisServer,
        sshd_server: SshServer, docker_engine: DockerEngine) -> None:
    with site(tmp_path, postgres_url, redis_server.url, **FAST) as s:
        targets = ssh_targets(s, sshd_server, 2)
        stack = new_stack(s, "Steady", SLOW.format(delay=6))
        token = s.auth["Authorization"].split(" ", 1)[1]
        before = EventStream(s.server.url, token)
        before.wait_for(lambda frames: bool(frames))  # ``ready``: where it starts
        # Both workers wait for jobs before there are any: each takes one, and the two
        # runs go on at once (a worker takes its next job once its run ended — its watch
        # goes on beside it —, so one worker alone would run them one after the other).
        for n in range(2):
            start_worker(s, tmp_path / f"w{n}.log")
        _workers_alive(s, 2)
        ids = [deploy(s, stack, t).json()["deployments"][0]["id"] for t in targets]
        # Both running on workers, in their health stage, at the same moment: both runs
        # go on across the restart (one that ended before it told its end on the first
        # stream, and the second one would never see it).
        deadline = time.monotonic() + 60
        while not all(d["status"] == "running" and d["stage"] == "health"
                      for d in (deployment(s, dep_id) for dep_id in ids)):
            assert time.monotonic() < deadline, [deployment(s, dep_id) for dep_id in ids]
            time.sleep(0.05)

        s.restart_server(lambda p: p.send_signal(signal.SIGKILL))
        assert before.ended.wait(10)  # the client saw its stream cut
        last_id = [f["id"] for f in before.frames if "id" in f][-1]  # all it received
        assert not {f["data"].get("aggregate_id") for f in before.frames
                    if f["event"] == "deployment.finished"} & set(ids), before.frames
        # The workers went on meanwhile: the deployments end while the client reconnects.
        after = EventStream(s.server.url, token, last_event_id=last_id)

        def finished(frames: list[dict[str, Any]]) -> bool:
            return {f["data"].get("aggregate_id") for f in frames
                    if f["event"] == "deployment.finished"} >= set(ids)

        frames = after.wait_for(finished, timeout=60)
        after.close()
        done = wait_all(s, ids, timeout=30)
        assert {d["status"] for d in done.values()} == {"succeeded"}, done
        # The later events of both deployments came through (their ends, and the log
        # lines before them), none twice, none the client had already.
        seen = [f["id"] for f in frames if f["event"] != "ready"]
        assert len(seen) == len(set(seen)), seen
        assert not set(seen) & {f["id"] for f in before.frames if "id" in f}
        for dep_id in ids:
            kinds = {f["event"] for f in frames
                     if f["data"].get("aggregate_id") == dep_id}
            assert {"deployment.log", "deployment.finished"} <= kinds, (dep_id, kinds)
        for dep_id in ids:
            assert ended(deployment(s, dep_id))
            assert_true_state(docker_engine, done[dep_id])
        assert rows(postgres_url, "SELECT DISTINCT attempt FROM deployments") == \
            [{"attempt": 1}]  # nothing was taken over: the workers never stopped
