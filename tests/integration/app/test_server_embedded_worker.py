"""``windflow serve`` alone (SQLite, no Redis) runs its deployments on one ``windflow
worker`` child process (real processes and dockerd): the pipeline runs in the child, not
the API process, and its events reach the server's event stream; a killed child is
started again and the deployment ends in the target's true state; the child goes with
the server."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.env.docker import DockerEngine
from tests.support.deploy import compose_v2_config
from tests.support.server import (
    EventStream,
    Server,
    bearer,
    create_owner,
    running_server,
    sign_in,
)
from tests.support.workers import SLOW, claim_of, ended, wait_for


@pytest.fixture
def docker(docker_engine: DockerEngine) -> DockerEngine:
    return docker_engine


@contextmanager
def embedded(tmp_path: Path, docker: DockerEngine, **extra: str
             ) -> Iterator[tuple[Server, httpx.Client, dict[str, str], str, str]]:
    """A server on SQLite without Redis, signed in as its owner, with a local target on
    the test dockerd; yields (server, http, auth, target id, database url)."""
    home = tmp_path / "home"
    home.mkdir()
    env = {"DOCKER_CONFIG": str(compose_v2_config(home)), "HOME": str(home), **extra}
    create_owner(home, **env)
    with running_server(home, **env) as server, server.client() as http:
        auth = bearer(sign_in(http, "olga")["access_token"])
        made = http.post("/api/v1/targets", headers=auth, json={
            "name": "here", "kind": "local", "docker_socket": docker.host})
        assert made.status_code == 201, made.text
        yield (server, http, auth, str(made.json()["id"]),
               f"sqlite+aiosqlite:///{home / 'workspace.db'}")


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def worker_child(server: Server, timeout: float = 30, other_than: int | None = None) -> int:
    deadline = time.monotonic() + timeout
    while True:
        found = [p for p in children(server.process.pid) if p != other_than]
        if found:
            return found[0]
        assert time.monotonic() < deadline, "no worker child process"
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def deploy(http: httpx.Client, auth: dict[str, str], name: str, compose: str,
           target: str) -> str:
    made = http.post("/api/v1/stacks", headers=auth,
                     json={"name": name, "compose_yaml": compose})
    assert made.status_code == 201, made.text
    stack = made.json()["stack"]["id"]
    answer = http.post("/api/v1/deployments", headers=auth,
                       json={"stack_id": stack, "target_ids": [target]})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["deployments"][0]["id"])





def test_serve_alone_runs_a_deployment_in_its_worker_child_and_streams_its_events(
        tmp_path: Path, docker: DockerEngine) -> None:
    with embedded(tmp_path, docker) as (server, http, auth, target, url):
        child = worker_child(server)
        assert child != server.process.pid
        stream = EventStream(server.url, auth["Authorization"].split()[1])
        try:
            time.sleep(0.5)  # the stream is open
            dep_id = deploy(http, auth, "Quick", SLOW.format(delay=0), target)
            dep = wait_for(http, auth, dep_id, ended)
            assert dep["status"] == "succeeded", dep
            attempt, runner = claim_of(url, dep_id)
            # Run by the child (its pid in the runner id), claimed once.
            assert attempt == 1 and runner is not None and f":{child}:" in runner, runner
            assert f":{server.process.pid}:" not in runner
            # The child's events reach the server's stream.
            frames = stream.wait_for(lambda fs: any(
                f["event"] == "deployment.finished" and f["data"]["data"].get("status")
                == "succeeded" for f in fs))
            stages = {f["data"]["data"].get("stage") for f in frames
                      if f["event"] == "deployment.stage_changed"}
            assert {"up", "health"} <= stages, frames
        finally:
            stream.close()
        assert docker.cli("ps", "-q", "--filter",
                          f"label=com.docker.compose.project={dep['project_name']}").strip()
        workers = http.get("/api/v1/workers", headers=auth).json()
        assert workers["queue"] is True
        assert any(f":{child}:" in name for name in workers["workers"]), workers
    assert not alive(child)  # the server stopped: its worker too


def test_a_killed_worker_child_is_started_again_and_the_deployment_ends_true(
        tmp_path: Path, docker: DockerEngine) -> None:
    with embedded(tmp_path, docker) as (server, http, auth, target, url):
        first = worker_child(server)
        dep_id = deploy(http, auth, "Slow", SLOW.format(delay=4), target)
        wait_for(http, auth, dep_id, lambda d: d["stage"] == "health")
        os.kill(first, signal.SIGKILL)  # mid-run, after `up` changed the target
        second = worker_child(server, other_than=first)
        dep = wait_for(http, auth, dep_id, ended, timeout=60)
        attempt, runner = claim_of(url, dep_id)
        # The new child took it over at once (the server released the dead one's row)
        # and settled it from the target's real state.
        assert attempt == 2 and runner is not None and f":{second}:" in runner, runner
        stages = http.get(f"/api/v1/deployments/{dep_id}/stages", headers=auth).json()
        assert "reconcile" in [s["stage"] for s in stages], stages
        running = docker.cli("ps", "-q", "--filter", "health=healthy", "--filter",
                             f"label=com.docker.compose.project={dep['project_name']}")
        if dep["status"] == "succeeded":
            assert running.strip(), dep
        else:
            assert dep["status"] == "failed" and "not running" in dep["error"], dep
        # Still one worker at work: a new deployment runs on the second child.
        quick = deploy(http, auth, "Quick", SLOW.format(delay=0), target)
        assert wait_for(http, auth, quick, ended)["status"] == "succeeded"
        assert f":{second}:" in (claim_of(url, quick)[1] or "")
        alive_now = http.get("/api/v1/workers", headers=auth).json()["workers"]
        assert not any(f":{first}:" in name for name in alive_now), alive_now
        assert any(f":{second}:" in name for name in alive_now), alive_now
    assert not alive(second)


def test_cancel_reaches_the_worker_childs_run(tmp_path: Path, docker: DockerEngine) -> None:
    with embedded(tmp_path, docker) as (_server, http, auth, target, _url):
        dep_id = deploy(http, auth, "Slow", SLOW.format(delay=30), target)
        wait_for(http, auth, dep_id, lambda d: d["stage"] == "health")
        answer = http.post(f"/api/v1/deployments/{dep_id}/cancel", headers=auth)
        assert answer.status_code == 200, answer.text
        dep = wait_for(http, auth, dep_id, ended, timeout=20)
        assert dep["status"] == "cancelled" and dep["error"] == "cancelled by the user", dep
        # The child goes on taking jobs.
        quick = deploy(http, auth, "Quick", SLOW.format(delay=0), target)
        assert wait_for(http, auth, quick, ended)["status"] == "succeeded"


def test_the_worker_takes_the_next_job_while_a_finished_ones_watch_runs(
        tmp_path: Path, docker: DockerEngine) -> None:
    """The watch after a success (10 s) holds its job, not the worker: a deployment
    queued meanwhile starts at once, and the first job ends when its watch does."""
    with embedded(tmp_path, docker) as (_server, http, auth, target, _url):
        first = deploy(http, auth, "First", SLOW.format(delay=0), target)
        assert wait_for(http, auth, first, ended)["status"] == "succeeded"
        second = deploy(http, auth, "Second", SLOW.format(delay=0), target)
        dep = wait_for(http, auth, second, ended)
        assert dep["status"] == "succeeded", dep
        watch = [s for s in http.get(f"/api/v1/deployments/{first}/stages",
                                     headers=auth).json() if s["stage"] == "watch"]
        assert len(watch) == 1, watch
        # The second ran during the first's watch (still open, or ended after it).
        assert watch[0]["finished_at"] is None or watch[0]["finished_at"] > dep["finished_at"]

        def watched(d: str) -> list[dict[str, Any]]:
            return [s for s in http.get(f"/api/v1/deployments/{d}/stages",
                                        headers=auth).json() if s["stage"] == "watch"]

        deadline = time.monotonic() + 40  # both watches end, as they did before
        while not all(w and w[0]["outcome"] == "succeeded" for w in map(watched,
                                                                          (first, second))):
            assert time.monotonic() < deadline, (watched(first), watched(second))
            time.sleep(0.2)
