"""Live container stats through a real server: ``RemoteStats.watch`` yields the server's
batches (one a second) for a running container of its target; a target of nobody's is
refused before anything streams."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from tests.env.docker import BUSYBOX_IMAGE, DockerEngine
from tests.support.server import PASSWORD, create_owner, running_server
from windflow_desktop.domain.errors import NotFoundError
from windflow_desktop.domain.identity import Principal
from windflow_desktop.remote.client import ServerSession
from windflow_desktop.remote.stats import RemoteStats

pytestmark = pytest.mark.docker
NOBODY = Principal(uuid.uuid4(), uuid.uuid4(), None)


async def test_batches_stream_through_the_server(tmp_path: Path,
                                                 docker_engine: DockerEngine) -> None:
    create_owner(tmp_path)
    name = f"rs-{uuid.uuid4().hex[:6]}"
    cid = docker_engine.cli("run", "-d", "--name", name, "--network", "none",
                            "--stop-signal", "SIGKILL", BUSYBOX_IMAGE, "sleep", "300").strip()
    try:
        with running_server(tmp_path) as server:
            session = ServerSession(server.url)
            try:
                await session.login("olga", PASSWORD)
                made = await session.request("POST", "/targets", json={
                    "name": "here", "kind": "local", "docker_socket": docker_engine.host})
                stats = RemoteStats(session)
                watch = stats.watch(NOBODY, uuid.UUID(made["id"]))

                async def first_with_ours() -> float:
                    async for batch in watch:
                        if cid in batch:
                            return batch[cid].memory_bytes
                    raise AssertionError("the stream ended")

                memory = await asyncio.wait_for(first_with_ours(), 30)
                assert memory > 0
                await watch.aclose()
                with pytest.raises(NotFoundError):
                    async for _ in stats.watch(NOBODY, uuid.uuid4()):
                        pass
            finally:
                await session.close()
    finally:
        docker_engine.cli("rm", "-f", name)
