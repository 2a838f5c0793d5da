"""A server on PostgreSQL with its job queue on Redis and ``windflow worker`` processes,
for the worker fault tests and benchmarks: the API signed in as its owner, SSH targets on
the test sshd (their host key trusted through the API, as an admin does), worker
processes, and a direct look at the deployment rows (``runner``, ``attempt``) that the API
does not show."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.env.sshd import SshServer
from tests.support.deploy import compose_v2_config
from tests.support.server import Server, _environ, bearer, create_owner, running_server, sign_in

# One busybox service, running at once (no health check): ``up`` is the stage that
# changes the target, and ``docker compose ps`` says plainly what runs.
TINY = """\
services:
  app:
    image: localhost/busybox
    command: ["sleep", "1000000"]
    stop_signal: SIGKILL
"""

# Healthy only after ``delay`` seconds (``SLOW.format(delay=4)``): the run sits in its
# health stage long enough to kill its worker there, after ``up`` changed the target.
SLOW = """\
services:
  web:
    image: localhost/busybox
    command: ["sh", "-c", "sleep {delay}; touch /ready; exec sleep 1000000"]
    healthcheck:
      test: ["CMD-SHELL", "test -f /ready"]
      interval: 1s
      retries: 60
    stop_signal: SIGKILL
"""


@dataclass
class Site:
    """The server's home, environment and an owner's session."""

    home: Path
    env: dict[str, str]
    server: Server
    http: httpx.Client
    auth: dict[str, str]
    workers: list[subprocess.Popen[str]] = field(default_factory=list)
    _server_cm: Any = None  # the restarted server's context

    def restart_server(self, stop: Callable[[subprocess.Popen[str]], None]) -> None:
        """End the API process with ``stop`` and start it again on the same port."""
        stop(self.server.process)
        self.server.process.wait(30)
        port = int(self.server.url.rsplit(":", 1)[1])
        self._server_cm = running_server(self.home, port=port, **self.env)
        self.server = self._server_cm.__enter__()


def server_env(home: Path, postgres_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    return {"WINDFLOW_DATABASE_URL": postgres_url, "WINDFLOW_REDIS_URL": redis_url,
            "DOCKER_CONFIG": str(compose_v2_config(home)), "HOME": str(home), **extra}


@contextmanager
def site(tmp_path: Path, postgres_url: str, redis_url: str, **extra: str) -> Iterator[Site]:
    home = tmp_path / "home"
    home.mkdir()
    env = server_env(home, postgres_url, redis_url, **extra)
    create_owner(home, **env)
    made = Site(home, env, None, None, {})  # type: ignore[arg-type]
    with running_server(home, **env) as server:
        made.server = server
        made.http = httpx.Client(base_url=server.url, timeout=30)
        made.auth = bearer(sign_in(made.http, "olga")["access_token"])
        try:
            yield made
        finally:
            made.http.close()
            for process in made.workers:
                stop_worker(process)
            if made.server.process is not server.process:  # restarted: end the new one
                made._server_cm.__exit__(None, None, None)


def ssh_targets(s: Site, sshd: SshServer, count: int) -> list[str]:
    """``count`` SSH targets with distinct names, all the same sshd (and so the same
    dockerd behind it); its host key trusted once through the API."""
    ids = []
    for i in range(count):
        made = s.http.post("/api/v1/targets", headers=s.auth, json={
            "name": f"box-{i:02d}", "kind": "ssh", "host": sshd.host, "port": sshd.port,
            "username": sshd.user, "auth": "password", "secret": sshd.password})
        assert made.status_code == 201, made.text
        ids.append(str(made.json()["id"]))
    first = s.http.post(f"/api/v1/targets/{ids[0]}/test", headers=s.auth).json()
    assert first["status"] != "online", first  # a new host key waits to be trusted
    pending = s.http.get(f"/api/v1/targets/{ids[0]}/host-key", headers=s.auth).json()
    trusted = s.http.post(f"/api/v1/targets/{ids[0]}/host-key", headers=s.auth,
                          json={"fingerprint": pending["fingerprint"]})
    assert trusted.status_code == 204, trusted.text
    second = s.http.post(f"/api/v1/targets/{ids[0]}/test", headers=s.auth).json()
    assert second["status"] == "online", second  # now in the home's known_hosts
    return ids


def start_worker(s: Site, log: Path, **extra: str) -> subprocess.Popen[str]:
    with log.open("a") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "windflow_desktop.cli", "worker"],
            env=_environ(s.home, **{**s.env, **extra}), stdout=out,
            stderr=subprocess.STDOUT, text=True)
    s.workers.append(process)
    return process


def stop_worker(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def new_stack(s: Site, name: str, compose: str = TINY) -> str:
    made = s.http.post("/api/v1/stacks", headers=s.auth,
                       json={"name": name, "compose_yaml": compose})
    assert made.status_code == 201, made.text
    return str(made.json()["stack"]["id"])


def deploy(s: Site, stack: str, target: str, key: str | None = None) -> httpx.Response:
    headers = {**s.auth, **({"Idempotency-Key": key} if key else {})}
    return s.http.post("/api/v1/deployments", headers=headers,
                       json={"stack_id": stack, "target_ids": [target]})


def deployment(s: Site, dep_id: str) -> dict[str, Any]:
    return dict(s.http.get(f"/api/v1/deployments/{dep_id}", headers=s.auth).json())


def stages(s: Site, dep_id: str) -> list[dict[str, Any]]:
    return list(s.http.get(f"/api/v1/deployments/{dep_id}/stages", headers=s.auth).json())


def ended(dep: dict[str, Any]) -> bool:
    return dep["status"] not in ("pending", "running")


def wait_for(http: httpx.Client, auth: dict[str, str], dep_id: str,
             done: Callable[[dict[str, Any]], bool], timeout: float = 60) -> dict[str, Any]:
    """The deployment as the API shows it, once ``done`` says so (fails past
    ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        dep = http.get(f"/api/v1/deployments/{dep_id}", headers=auth).json()
        if done(dep):
            return dict(dep)
        assert time.monotonic() < deadline, f"deployment stuck: {dep}"
        time.sleep(0.1)


def claim_of(url: str, dep_id: str) -> tuple[int, str | None]:
    """(attempt, runner) of a deployment row, on SQLite or PostgreSQL (the API does not
    show them)."""
    from windflow_desktop.repositories.sql.backend import SqlBackend

    async def read() -> tuple[int, str | None]:
        backend = SqlBackend(url)
        await backend.open()
        try:
            async with backend.unit_of_work() as uow:
                dep = await uow.deployments.get(uuid.UUID(dep_id))
            return dep.attempt, dep.runner
        finally:
            await backend.close()
    return asyncio.run(read())


def wait_all(s: Site, ids: list[str], timeout: float) -> dict[str, dict[str, Any]]:
    """Every deployment of ``ids`` once each has ended (fails past ``timeout``)."""
    deadline = time.monotonic() + timeout
    done: dict[str, dict[str, Any]] = {}
    while True:
        for dep_id in ids:
            if dep_id not in done:
                dep = deployment(s, dep_id)
                if ended(dep):
                    done[dep_id] = dep
        if len(done) == len(ids):
            return done
        assert time.monotonic() < deadline, (
            f"{len(ids) - len(done)} deployments never ended: "
            f"{[deployment(s, i) for i in ids if i not in done][:3]}")
        time.sleep(0.2)


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _rows(url: str, query: str, *args: Any) -> list[dict[str, Any]]:
    import asyncpg

    conn = await asyncpg.connect(_dsn(url))
    try:
        return [dict(r) for r in await conn.fetch(query, *args)]
    finally:
        await conn.close()


def rows(url: str, query: str, *args: Any) -> list[dict[str, Any]]:
    """The result of ``query`` on the server's database (what the API does not show)."""
    return asyncio.run(_rows(url, query, *args))


async def _first_in_up(url: str, timeout: float) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(_dsn(url))
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = await conn.fetch(
                "SELECT id, runner, attempt, project_name FROM deployments "
                "WHERE status = 'running' AND stage = 'up' AND runner IS NOT NULL LIMIT 1")
            if found:
                return dict(found[0])
            await asyncio.sleep(0.01)
    finally:
        await conn.close()
    raise TimeoutError(f"no deployment reached its up stage in {timeout} s")


def first_in_up(url: str, timeout: float = 60) -> dict[str, Any]:
    """A running deployment in its ``up`` stage, as soon as there is one (polled on its
    row every 10 ms): ``id``, ``runner`` (host:pid:nonce), ``attempt``, ``project_name``."""
    return asyncio.run(_first_in_up(url, timeout))


def runner_pid(runner: str) -> int:
    return int(runner.split(":")[-2])
