"""A target's disk through a real server: ``RemoteDisk`` lists a volume made on the
engine, previews a prune (what goes, what stays and why: read back whole), removes the
volume, and an unknown target is not found. Nothing is pruned: the session's engine is
shared (test_disk_service.py prunes on an engine of its own)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.env.docker import DockerEngine
from tests.support.server import PASSWORD, create_owner, running_server
from windflow_desktop.domain.containers import DiskKind
from windflow_desktop.domain.errors import NotFoundError
from windflow_desktop.domain.identity import Principal
from windflow_desktop.remote.client import ServerSession
from windflow_desktop.remote.disk import RemoteDisk

pytestmark = pytest.mark.docker
NOBODY = Principal(uuid.uuid4(), uuid.uuid4(), None)


async def test_list_preview_and_remove_through_the_server(
        tmp_path: Path, docker_engine: DockerEngine) -> None:
    create_owner(tmp_path)
    volume = f"rd-{uuid.uuid4().hex[:6]}"
    docker_engine.cli("volume", "create", volume)
    try:
        with running_server(tmp_path) as server:
            session = ServerSession(server.url)
            try:
                await session.login("olga", PASSWORD)
                made = await session.request("POST", "/targets", json={
                    "name": "here", "kind": "local", "docker_socket": docker_engine.host})
                target = uuid.UUID(made["id"])
                disk = RemoteDisk(session)
                usage = await disk.usage(NOBODY, target)
                assert volume in [v.name for v in usage.volumes]
                assert usage.images  # busybox at least
                plan = await disk.prune_preview(NOBODY, target, DiskKind.VOLUMES)
                assert plan.kind is DiskKind.VOLUMES
                assert volume in [item.name for item in plan.items]
                await disk.remove(NOBODY, target, DiskKind.VOLUMES, volume)
                assert volume not in [v.name for v in (await disk.usage(NOBODY, target)).volumes]
                with pytest.raises(NotFoundError):
                    await disk.usage(NOBODY, uuid.uuid4())
            finally:
                await session.close()
    finally:
        docker_engine.cli("volume", "rm", "-f", volume, check=False)
