"""UpdateService on a real engine and a real registry: a container runs the image its
tag pointed to when pulled; once someone pushes another image under the same tag, the
check says an update is available (the registry's digest against the running one, no
pull); a tag deleted from the registry, a registry that is down, and an image built on
the target are each said in words, per image. The registry's token flow (401 with a
Bearer challenge) is checked against a stand-in transport in the unit test of the
client."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.env.docker import BUSYBOX_IMAGE, DockerEngine
from tests.env.keyring_backend import MemoryKeyring
from tests.env.registry import Registry, registry, start_registry  # noqa: F401 - fixture
from tests.support.auth import Clock, RecordingBus, add_member, add_org
from tests.support.target import engine_settings
from windflow_desktop.domain.containers import ImageUpdate, UpdateState
from windflow_desktop.domain.enums import Role, TargetKind
from windflow_desktop.domain.errors import PermissionDeniedError
from windflow_desktop.domain.identity import Principal
from windflow_desktop.domain.models import Target
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.engine.pool import ExecutorPool
from windflow_desktop.engine.ssh import KnownHosts
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.targets import TargetService
from windflow_desktop.services.updates import UpdateService

pytestmark = pytest.mark.docker


@dataclass
class World:
    service: UpdateService
    owner: Principal
    target: Target
    docker: DockerEngine

    def sh(self, *args: str) -> str:
        return self.docker.cli(*args).strip()

    async def run(self, image: str) -> str:
        name = f"up-{uuid.uuid4().hex[:6]}"
        await asyncio.to_thread(self.sh, "run", "-d", "--name", name, "--network", "none",
                                "--stop-signal", "SIGKILL", image, "sleep", "300")
        return name

    def line(self, lines: tuple[ImageUpdate, ...], image: str) -> ImageUpdate:
        return next(u for u in lines if u.image == image)


@pytest.fixture
async def world(docker_engine: DockerEngine, tmp_path: Path) -> AsyncIterator[World]:
    backend = SqlBackend(f"sqlite+aiosqlite:///{tmp_path / 'workspace.db'}")
    await backend.open()
    secrets = SecretStore(MemoryKeyring())
    pool = ExecutorPool(KnownHosts(tmp_path / "known_hosts"), secrets.aget,
                        settings=engine_settings())
    ctx = ServiceContext(backend, RecordingBus(), clock=Clock())
    org = await add_org(backend, f"org{uuid.uuid4().hex[:6]}")
    owner = await add_member(backend, org.id, f"owner{uuid.uuid4().hex[:6]}", Role.OWNER)
    target = await TargetService(ctx, secrets, pool).create_target(
        owner, TargetSpec(name="local", kind=TargetKind.LOCAL,
                          docker_socket=docker_engine.host))
    world = World(UpdateService(ctx, pool, secrets), owner, target, docker_engine)
    try:
        yield world
    finally:
        names = world.sh("ps", "-aq", "--filter", "name=up-").split()
        if names:
            world.sh("rm", "-f", *names)
        await pool.close()
        await backend.close()


def _other_image(engine: DockerEngine, folder: Path, reference: str) -> None:
    """A small image that is not busybox, tagged ``reference``."""
    (folder / "blob").write_bytes(os.urandom(4096))
    subprocess.run(["tar", "-C", str(folder), "-cf", str(folder / "blob.tar"), "blob"],
                   check=True)
    engine.cli("import", str(folder / "blob.tar"), reference)


async def test_an_update_behind_the_tag_is_seen_without_pulling(
    world: World, registry: Registry, tmp_path: Path  # noqa: F811
) -> None:
    w = world
    image = f"{registry.host}/wf-up-{uuid.uuid4().hex[:6]}:1"
    await asyncio.to_thread(w.sh, "tag", BUSYBOX_IMAGE, image)
    await asyncio.to_thread(w.sh, "push", image)
    await w.run(image)
    await w.run(BUSYBOX_IMAGE)  # loaded on the engine, never pulled from "localhost"

    first = await w.service.check(w.owner, w.target.id)
    current = w.line(first, image)
    assert current.state is UpdateState.CURRENT, current
    assert current.latest and any(current.latest in d for d in current.running)
    local = w.line(first, BUSYBOX_IMAGE)
    assert local.state is UpdateState.UNKNOWN and "never pulled" in local.message

    # Someone pushes another image under the same tag; the container keeps running the
    # old one (the local tag is moved to the new image by the push, as it would be).
    await asyncio.to_thread(_other_image, w.docker, tmp_path, image)
    await asyncio.to_thread(w.sh, "push", image)
    after = w.line(await w.service.check(w.owner, w.target.id), image)
    assert after.state is UpdateState.AVAILABLE, after
    assert after.latest != current.latest and after.running == current.running


async def test_a_deleted_tag_and_a_registry_that_is_down_are_said(
    world: World, tmp_path: Path
) -> None:
    w = world
    own = start_registry()
    try:
        gone = f"{own.host}/wf-gone:1"
        await asyncio.to_thread(w.sh, "tag", BUSYBOX_IMAGE, gone)
        await asyncio.to_thread(w.sh, "push", gone)
        await w.run(gone)
        digest = w.line(await w.service.check(w.owner, w.target.id), gone).latest
        deleted = await asyncio.to_thread(
            httpx.delete, f"{own.url}/v2/wf-gone/manifests/{digest}")
        assert deleted.status_code == 202, deleted.text
        line = w.line(await w.service.check(w.owner, w.target.id), gone)
        assert line.state is UpdateState.FAILED and "is gone from" in line.message

        own.stop()
        line = w.line(await w.service.check(w.owner, w.target.id), gone)
        assert line.state is UpdateState.FAILED and "cannot be reached" in line.message
    finally:
        own.remove()


async def test_reading_needs_a_role_in_the_organization(world: World) -> None:
    stranger = Principal(uuid.uuid4(), world.target.organization_id, None)
    with pytest.raises(PermissionDeniedError):
        await world.service.check(stranger, world.target.id)
