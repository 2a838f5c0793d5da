"""Deployments in server mode with Redis run on ``windflow worker`` processes fed by the
``windflow:jobs`` stream (real Redis, PostgreSQL and dockerd): the API process only
records and enqueues; a killed worker's job is taken by another after its lease and ends
in the target's true state; a job whose worker dies past the delivery limit reaches the
dead-letter stream and its deployment says why; an ``Idempotency-Key`` answers the same
deployments."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.env.docker import DockerEngine
from tests.env.redis import RedisServer
from tests.support.deploy import compose_v2_config
from tests.support.server import _environ, bearer, create_owner, running_server, sign_in
from tests.support.workers import SLOW, claim_of, ended, wait_for
from windflow_desktop.events.redis_jobs import DEAD_STREAM, JOBS_GROUP, JOBS_STREAM

pytestmark = pytest.mark.postgres

LEASE_S = "2"


@contextmanager
def workspace(tmp_path: Path, postgres_url: str, redis_url: str, docker: DockerEngine
              ) -> Iterator[tuple[httpx.Client, dict[str, str], dict[str, str], str]]:
    """A server on PostgreSQL with the job queue on Redis, signed in as its owner, with a
    local target on the test dockerd; yields (http, auth, env, target id)."""
    home = tmp_path / "home"
    home.mkdir()
    env = {"WINDFLOW_DATABASE_URL": postgres_url, "WINDFLOW_REDIS_URL": redis_url,
           "DOCKER_CONFIG": str(compose_v2_config(home)), "HOME": str(home),
           "WINDFLOW_WORKER_LEASE_S": LEASE_S}
    create_owner(home, **env)
    with running_server(home, **env) as server, server.client() as http:
        auth = bearer(sign_in(http, "olga")["access_token"])
        made = http.post("/api/v1/targets", headers=auth, json={
            "name": "here", "kind": "local", "docker_socket": docker.host})
        assert made.status_code == 201, made.text
        env["WINDFLOW_HOME"] = str(home)
        yield http, auth, env, str(made.json()["id"])


@contextmanager
def worker(env: dict[str, str], log: Path, **extra: str) -> Iterator[subprocess.Popen[str]]:
    home = Path(env["WINDFLOW_HOME"])
    with log.open("a") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "windflow_desktop.cli", "worker"],
            env=_environ(home, **{**env, **extra}), stdout=out, stderr=subprocess.STDOUT,
            text=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def new_stack(http: httpx.Client, auth: dict[str, str], name: str, compose: str) -> str:
    made = http.post("/api/v1/stacks", headers=auth,
                     json={"name": name, "compose_yaml": compose})
    assert made.status_code == 201, made.text
    return str(made.json()["stack"]["id"])


def deploy(http: httpx.Client, auth: dict[str, str], stack: str, target: str,
           key: str | None = None) -> list[dict[str, Any]]:
    headers = {**auth, **({"Idempotency-Key": key} if key else {})}
    made = http.post("/api/v1/deployments", headers=headers,
                     json={"stack_id": stack, "target_ids": [target]})
    assert made.status_code == 202, made.text
    return list(made.json()["deployments"])





def runs_apart(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> None:
    """The second run's stages all start after the first run's last recorded moment: no
    two runs of the project at once (the killed run's open stage never ends: it is
    settled by the second)."""
    last = max(t for s in first for t in (s["started_at"], s["finished_at"]) if t)
    assert all(s["started_at"] > last for s in second), (first, second)


@pytest.fixture
def docker(docker_engine: DockerEngine) -> DockerEngine:
    return docker_engine


def test_a_deployment_is_queued_by_the_api_and_run_by_a_worker_once(
        tmp_path: Path, postgres_url: str, redis_server: RedisServer,
        docker: DockerEngine) -> None:
    with workspace(tmp_path, postgres_url, redis_server.url, docker) as (http, auth, env,
                                                                          target):
        stack = new_stack(http, auth, "Quick", SLOW.format(delay=0))
        first = deploy(http, auth, stack, target, key="req-1")
        assert [d["status"] for d in first] == ["pending"]
        time.sleep(1.0)  # no worker yet: the API process runs nothing
        assert http.get(f"/api/v1/deployments/{first[0]['id']}",
                        headers=auth).json()["status"] == "pending"
        again = deploy(http, auth, stack, target, key="req-1")  # a retried request
        assert [d["id"] for d in again] == [first[0]["id"]]

        client = redis_server.client()
        client.xadd(JOBS_STREAM, {"deployment": first[0]["id"]})  # a duplicate delivery
        with worker(env, tmp_path / "w1.log"), worker(env, tmp_path / "w2.log"):
            dep = wait_for(http, auth, first[0]["id"], ended)
            assert dep["status"] == "succeeded", (dep, (tmp_path / "w1.log").read_text())
            attempt, runner = claim_of(postgres_url, dep["id"])
            assert attempt == 1 and runner is not None  # claimed once: one run
            deadline = time.monotonic() + 30  # the watch after success holds the job
            while client.xpending(JOBS_STREAM, JOBS_GROUP)["pending"]:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        stages = http.get(f"/api/v1/deployments/{dep['id']}/stages", headers=auth).json()
        assert [(s["stage"], s["outcome"]) for s in stages] == [
            (name, "succeeded") for name in
            ("preflight", "validate", "pull", "up", "health", "done", "watch")], stages
        assert docker.cli("ps", "-q", "--filter",
                          f"label=com.docker.compose.project={dep['project_name']}").strip()
        # The same key again after the run: the same deployment, no second run.
        assert [d["id"] for d in deploy(http, auth, stack, target, key="req-1")] == \
            [dep["id"]]
        assert client.xlen(JOBS_STREAM) == 2
        assert client.xpending(JOBS_STREAM, JOBS_GROUP)["pending"] == 0


def test_a_killed_workers_job_is_taken_over_and_ends_in_the_targets_true_state(
        tmp_path: Path, postgres_url: str, redis_server: RedisServer,
        docker: DockerEngine) -> None:
    with workspace(tmp_path, postgres_url, redis_server.url, docker) as (http, auth, env,
                                                                          target):
        stack = new_stack(http, auth, "Slow", SLOW.format(delay=4))
        dep_id = deploy(http, auth, stack, target)[0]["id"]
        with worker(env, tmp_path / "w1.log") as w1:
            wait_for(http, auth, dep_id, lambda d: d["stage"] == "health")
            os.kill(w1.pid, signal.SIGKILL)  # mid-run, after `up` changed the target
            w1.wait()
        with worker(env, tmp_path / "w2.log") as w2:
            dep = wait_for(http, auth, dep_id, ended, timeout=60)
            attempt, runner = claim_of(postgres_url, dep_id)
            assert attempt == 2 and runner is not None and f":{w2.pid}:" in runner
        stages = http.get(f"/api/v1/deployments/{dep_id}/stages", headers=auth).json()
        names = [s["stage"] for s in stages]
        assert "reconcile" in names and "up" in names, stages
        # The true state: what the target runs decides, and the reason says so.
        running = docker.cli("ps", "-q", "--filter", "health=healthy", "--filter",
                             f"label=com.docker.compose.project={dep['project_name']}")
        if dep["status"] == "succeeded":
            assert running.strip(), dep
        else:
            assert dep["status"] == "failed" and "not running" in dep["error"], dep
        runs_apart([s for s in stages if s["stage"] != "reconcile"],
                   [s for s in stages if s["stage"] == "reconcile"])


def test_a_job_that_kills_its_worker_every_time_is_dead_lettered(
        tmp_path: Path, postgres_url: str, redis_server: RedisServer,
        docker: DockerEngine) -> None:
    with workspace(tmp_path, postgres_url, redis_server.url, docker) as (http, auth, env,
                                                                          target):
        stack = new_stack(http, auth, "Doomed", SLOW.format(delay=30))
        dep_id = deploy(http, auth, stack, target)[0]["id"]
        limit = {"WINDFLOW_WORKER_MAX_DELIVERIES": "1"}
        with worker(env, tmp_path / "w1.log", **limit) as w1:
            wait_for(http, auth, dep_id, lambda d: d["stage"] == "health")
            os.kill(w1.pid, signal.SIGKILL)
            w1.wait()
        with worker(env, tmp_path / "w2.log", **limit):
            dep = wait_for(http, auth, dep_id, ended, timeout=60)
        assert dep["status"] == "failed"
        assert "dead-lettered" in dep["error"] and "limit is 1" in dep["error"], dep
        dead = redis_server.client().xrange(DEAD_STREAM)
        assert [f[b"deployment"].decode() for _, f in dead] == [dep_id]
        assert b"dead-lettered" in dead[0][1][b"reason"]

        # What an operator sees, and the retry of the dead job: a new deployment, queued.
        seen = http.get("/api/v1/workers", headers=auth).json()
        assert seen["queue"] is True and seen["dead"] == 1 and seen["running"] == 0
        assert [j["deployment_id"] for j in seen["dead_jobs"]] == [dep_id]
        dead_id = seen["dead_jobs"][0]["id"]
        retried = http.post(f"/api/v1/workers/dead/{dead_id}/retry", headers=auth)
        assert retried.status_code == 202, retried.text
        again = retried.json()["deployments"]
        assert [d["status"] for d in again] == ["pending"] and again[0]["id"] != dep_id
        after = http.get("/api/v1/workers", headers=auth).json()
        assert (after["dead"], after["queued"], after["dead_jobs"]) == (0, 1, [])
        assert http.post(f"/api/v1/workers/dead/{dead_id}/retry",
                         headers=auth).status_code == 404


def test_sigterm_lets_the_running_stage_finish_or_hands_the_job_back(
        tmp_path: Path, postgres_url: str, redis_server: RedisServer,
        docker: DockerEngine) -> None:
    with workspace(tmp_path, postgres_url, redis_server.url, docker) as (http, auth, env,
                                                                          target):
        quick = deploy(http, auth, new_stack(http, auth, "Drained", SLOW.format(delay=2)),
                       target)[0]["id"]
        with worker(env, tmp_path / "w1.log") as w1:
            wait_for(http, auth, quick, lambda d: d["stage"] == "health")
            w1.send_signal(signal.SIGTERM)  # within the grace period: the run ends
            assert w1.wait(timeout=60) == 0
        assert http.get(f"/api/v1/deployments/{quick}",
                        headers=auth).json()["status"] == "succeeded"

        stuck = deploy(http, auth, new_stack(http, auth, "Handed", SLOW.format(delay=60)),
                       target)[0]["id"]
        # A lease of a minute: only a job handed back is taken at once.
        long = {"WINDFLOW_WORKER_LEASE_S": "60"}
        with worker(env, tmp_path / "w2.log", WINDFLOW_WORKER_GRACE_S="1", **long) as w2:
            wait_for(http, auth, stuck, lambda d: d["stage"] == "health")
            w2.send_signal(signal.SIGTERM)  # past the grace period: handed back
            assert w2.wait(timeout=60) == 0
        client = redis_server.client()
        assert client.xpending(JOBS_STREAM, JOBS_GROUP)["pending"] == 1  # not lost
        with worker(env, tmp_path / "w3.log", **long) as w3:
            dep = wait_for(http, auth, stuck, ended, timeout=40)  # well within the lease
            assert f":{w3.pid}:" in str(claim_of(postgres_url, stuck)[1])
        assert dep["status"] == "failed" and "not running" in dep["error"], dep


def test_cancel_reaches_a_queued_job_at_once_and_a_running_one_through_its_row(
        tmp_path: Path, postgres_url: str, redis_server: RedisServer,
        docker: DockerEngine) -> None:
    """No window runs a server's deployment, so cancel goes through the row: a job no
    worker took yet ends cancelled at once (a worker started later never runs it); a
    worker's run reads the request while it runs and stops at the next safe point."""
    with workspace(tmp_path, postgres_url, redis_server.url, docker) as (http, auth, env,
                                                                          target):
        queued = deploy(http, auth, new_stack(http, auth, "Queued", SLOW.format(delay=0)),
                        target)[0]
        answer = http.post(f"/api/v1/deployments/{queued['id']}/cancel", headers=auth)
        assert answer.status_code == 200, answer.text
        dep = http.get(f"/api/v1/deployments/{queued['id']}", headers=auth).json()
        assert dep["status"] == "cancelled", dep
        assert dep["error"] == "cancelled before a worker started it"

        stack = new_stack(http, auth, "Slow", SLOW.format(delay=30))
        running = deploy(http, auth, stack, target)[0]
        client = redis_server.client()
        with worker(env, tmp_path / "w1.log"):
            wait_for(http, auth, running["id"], lambda d: d["stage"] == "health")
            asked = time.monotonic()
            answer = http.post(f"/api/v1/deployments/{running['id']}/cancel", headers=auth)
            assert answer.status_code == 200, answer.text
            dep = wait_for(http, auth, running["id"], ended, timeout=30)
            took = time.monotonic() - asked
            deadline = time.monotonic() + 30  # both jobs acknowledged
            while client.xpending(JOBS_STREAM, JOBS_GROUP)["pending"]:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        log = (tmp_path / "w1.log").read_text()
        assert dep["status"] == "cancelled" and dep["error"] == "cancelled by the user", (
            dep, log)
        assert took < 15, took  # not the 30 s health wait: the request reached the run
        assert claim_of(postgres_url, queued["id"]) == (1, "cancelled-before-start")  # never run
        assert not docker.cli("ps", "-q", "--filter",
                              f"label=com.docker.compose.project={queued['project_name']}")
        stages = http.get(f"/api/v1/deployments/{queued['id']}/stages", headers=auth).json()
        assert stages == []
        # Cancelling what ended is refused as before.
        again = http.post(f"/api/v1/deployments/{running['id']}/cancel", headers=auth)
        assert again.status_code == 409, again.text
