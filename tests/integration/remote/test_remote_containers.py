"""``RemoteContainers`` against a real ``windflow serve`` and a real Docker engine (a
``local`` target of the server on the test engine's socket): containers listed, stopped,
started, restarted and removed through the remote class, checked against what the
engine says (``docker inspect``); inspected with secret values masked (raw for those who
may manage); a log tailed, followed live over the server's SSE stream (stopped by the
reader, or ended with the container's output); refusals as the domain's errors."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.env.docker import BUSYBOX_IMAGE, DockerEngine
from tests.support.server import Server, acme_server, signed_in
from windflow_desktop.domain.enums import Role, TargetKind
from windflow_desktop.domain.errors import (
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
    WindFlowError,
)
from windflow_desktop.domain.identity import Principal
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.remote.client import ServerSession
from windflow_desktop.remote.containers import RemoteContainers
from windflow_desktop.remote.targets import RemoteTargets

# Accepted for the protocol, never sent: the server acts for the token's caller.
NOBODY = Principal(uuid.uuid4(), uuid.uuid4(), Role.VIEWER)
TICKING = "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module: ``olga`` (owner) and ``vera`` (viewer) of Acme."""
    with acme_server(tmp_path_factory.mktemp("server")) as running:
        yield running


@pytest.fixture
async def session(server: Server) -> AsyncIterator[ServerSession]:
    olga = await signed_in(server, "olga")
    try:
        yield olga
    finally:
        await olga.close()


@pytest.fixture
async def target_id(session: ServerSession, docker_engine: DockerEngine) -> uuid.UUID:
    """A ``local`` target of the server, on the test engine, made through the API."""
    target = await RemoteTargets(session).create_target(NOBODY, TargetSpec(
        name=f"engine-{uuid.uuid4().hex[:6]}", kind=TargetKind.LOCAL,
        docker_socket=docker_engine.host))
    return target.id


async def _run(engine: DockerEngine, script: str, project: str = "") -> str:
    labels = ["--label", f"com.docker.compose.project={project}",
              "--label", "com.docker.compose.service=web"] if project else []
    out = await asyncio.to_thread(
        engine.cli, "run", "-d", "--name", f"wf-{uuid.uuid4().hex[:8]}", "--network", "none",
        *labels, "--env", "DB_PASSWORD=hunter2-secret", "--stop-signal", "SIGKILL",
        BUSYBOX_IMAGE, "sh", "-c", script)
    return out.strip()


async def _state(engine: DockerEngine, cid: str) -> dict[str, object]:
    out = await asyncio.to_thread(engine.cli, "inspect", "--format", "{{json .State}}", cid)
    state: dict[str, object] = json.loads(out)
    return state


async def test_list_act_tail_and_follow(session: ServerSession, target_id: uuid.UUID,
                                        docker_engine: DockerEngine) -> None:
    containers = RemoteContainers(session)
    project = f"proj{uuid.uuid4().hex[:6]}"
    cid = await _run(docker_engine, TICKING, project)
    try:
        listed = await containers.list_containers(NOBODY, target_id)
        mine = next(c for c in listed if c.id == cid)
        assert (mine.project, mine.service, mine.state, mine.image) == (
            project, "web", "running", BUSYBOX_IMAGE)
        assert mine.created is not None and mine.labels["com.docker.compose.service"] == "web"

        # Followed live: the lines come in order while the container runs; the reader
        # stops when it has enough.
        lines: list[str] = []
        follow = containers.follow_logs(NOBODY, target_id, cid, tail=0)
        async with contextlib.aclosing(follow):
            async for line in follow:
                lines.append(line)
                if len(lines) == 5:
                    break
        numbers = [int(line.split()[1]) for line in lines]
        assert numbers == list(range(numbers[0], numbers[0] + 5))

        # Or the reading task is cancelled, as a store cancels its action.
        seen: list[str] = []

        async def keep_reading() -> None:
            async for line in containers.follow_logs(NOBODY, target_id, cid, tail=2):
                seen.append(line)

        task = asyncio.create_task(keep_reading())
        for _ in range(100):
            if len(seen) >= 4:
                break
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(seen) >= 4 and all(line.startswith("tick ") for line in seen)

        info = await containers.inspect(NOBODY, target_id, cid)
        assert info["Id"] == cid and info["State"]["Running"] is True
        assert "DB_PASSWORD=hunter2-secret" not in info["Config"]["Env"]
        assert any(e.startswith("DB_PASSWORD=") for e in info["Config"]["Env"])
        raw = await containers.inspect(NOBODY, target_id, cid, raw=True)
        assert "DB_PASSWORD=hunter2-secret" in raw["Config"]["Env"]

        tail = await containers.logs(NOBODY, target_id, cid, tail=3)
        assert len(tail) == 3 and all(line.startswith("tick ") for line in tail)

        await containers.stop(NOBODY, target_id, cid, grace_s=0)
        assert (await _state(docker_engine, cid))["Running"] is False
        stopped = next(c for c in await containers.list_containers(NOBODY, target_id)
                       if c.id == cid)
        assert stopped.state == "exited" and not stopped.running
        await containers.start(NOBODY, target_id, cid)
        assert (await _state(docker_engine, cid))["Running"] is True
        started_at = (await _state(docker_engine, cid))["StartedAt"]
        await containers.restart(NOBODY, target_id, cid, grace_s=0)
        again = await _state(docker_engine, cid)
        assert again["Running"] is True and again["StartedAt"] != started_at

        with pytest.raises(ValidationError, match="grace_s"):
            await containers.stop(NOBODY, target_id, cid, grace_s=-1)
        await containers.remove(NOBODY, target_id, cid, force=True)
        assert cid not in {c.id for c in await containers.list_containers(NOBODY, target_id)}
        with pytest.raises(NotFoundError):
            await containers.start(NOBODY, target_id, cid)
    finally:
        await asyncio.to_thread(docker_engine.cli, "rm", "-f", cid, check=False)


async def test_a_followed_log_ends_with_the_containers_output(
        session: ServerSession, target_id: uuid.UUID, docker_engine: DockerEngine) -> None:
    containers = RemoteContainers(session)
    cid = await _run(docker_engine, "sleep 1; for i in 1 2 3; do echo line $i; done")
    try:
        lines = [line async for line in containers.follow_logs(NOBODY, target_id, cid)]
        assert lines == ["line 1", "line 2", "line 3"]
        assert (await _state(docker_engine, cid))["Running"] is False
    finally:
        await asyncio.to_thread(docker_engine.cli, "rm", "-f", cid, check=False)


async def test_refusals_are_the_domains_errors(server: Server, session: ServerSession,
                                               target_id: uuid.UUID,
                                               docker_engine: DockerEngine) -> None:
    containers = RemoteContainers(session)
    cid = await _run(docker_engine, "sleep 60")
    viewer_session = await signed_in(server, "vera")
    try:
        viewer = RemoteContainers(viewer_session)
        # Reading is a viewer's; acting is not (and the container is left as it was).
        assert cid in {c.id for c in await viewer.list_containers(NOBODY, target_id)}
        assert await viewer.logs(NOBODY, target_id, cid) == []
        assert (await viewer.inspect(NOBODY, target_id, cid))["Id"] == cid
        with pytest.raises(PermissionDeniedError):
            await viewer.inspect(NOBODY, target_id, cid, raw=True)
        for act in (viewer.stop, viewer.restart, viewer.remove):
            with pytest.raises(PermissionDeniedError):
                await act(NOBODY, target_id, cid)
        with pytest.raises(PermissionDeniedError):
            await viewer.start(NOBODY, target_id, cid)
        assert (await _state(docker_engine, cid))["Running"] is True

        # Unknown container or target: refused before any line, as a status.
        for call in (lambda: containers.inspect(NOBODY, target_id, "no-such-container"),
                     lambda: containers.logs(NOBODY, target_id, "no-such-container"),
                     lambda: containers.stop(NOBODY, target_id, "no-such-container"),
                     lambda: containers.list_containers(NOBODY, uuid.uuid4())):
            with pytest.raises(NotFoundError):
                await call()
        with pytest.raises(NotFoundError):
            async for _ in containers.follow_logs(NOBODY, target_id, "no-such-container"):
                pass
        with pytest.raises(NotFoundError):
            async for _ in containers.follow_logs(NOBODY, uuid.uuid4(), cid):
                pass
        with pytest.raises(ValidationError, match="container_id"):
            await containers.logs(NOBODY, target_id, "-rf")

        # A target whose engine is not there: said so (the engine's error, its code and
        # words as in local mode), list and follow alike.
        nowhere = await RemoteTargets(session).create_target(NOBODY, TargetSpec(
            name=f"nowhere-{uuid.uuid4().hex[:6]}", kind=TargetKind.LOCAL,
            docker_socket=f"{docker_engine.host}.missing"))
        with pytest.raises(WindFlowError, match="no Docker engine answers") as listing:
            await containers.list_containers(NOBODY, nowhere.id)
        with pytest.raises(WindFlowError, match="no Docker engine answers") as following:
            async for _ in containers.follow_logs(NOBODY, nowhere.id, cid):
                pass
        assert listing.value.code == following.value.code == "DOCKER_UNAVAILABLE"
    finally:
        await viewer_session.close()
        await asyncio.to_thread(docker_engine.cli, "rm", "-f", cid, check=False)
