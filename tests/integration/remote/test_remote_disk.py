"""A target's disk through a real ``windflow serve``: ``RemoteDisk`` lists a volume made
on the engine, previews a prune (what goes, what stays and why: read back whole), removes
the volume and an image tag (a ref with a slash travels in the path), prunes; a viewer
may look and is refused the rest; an unknown target is not found, a missing volume too,
an over-long ref is a validation error naming it.

The session's engine is shared, so nothing is pruned there: the prune runs on this
module's own dockerd (as test_disk_service.py does), where it cannot reach other tests'
volumes."""

from __future__ import annotations

import asyncio
import tarfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.env.docker import BUSYBOX_IMAGE, DockerEngine, start_docker
from tests.support.server import (
    Server,
    acme_server,
    signed_in,
)
from windflow_desktop.domain.containers import DiskKind
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
from windflow_desktop.remote.disk import RemoteDisk
from windflow_desktop.remote.targets import RemoteTargets

pytestmark = pytest.mark.docker
# Accepted for the protocol, never sent: the server acts for the token's caller.
NOBODY = Principal(uuid.uuid4(), uuid.uuid4(), Role.VIEWER)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module: ``olga`` (owner) and ``vera`` (viewer) of Acme."""
    with acme_server(tmp_path_factory.mktemp("server")) as running:
        yield running


@pytest.fixture(scope="module")
def own_engine() -> Iterator[DockerEngine]:
    """A dockerd of this module's own: what a prune may empty."""
    engine = start_docker()
    try:
        yield engine
    finally:
        engine.stop()


@pytest.fixture
async def session(server: Server) -> AsyncIterator[ServerSession]:
    olga = await signed_in(server, "olga")
    try:
        yield olga
    finally:
        await olga.close()


async def _target(session: ServerSession, engine: DockerEngine) -> uuid.UUID:
    target = await RemoteTargets(session).create_target(NOBODY, TargetSpec(
        name=f"engine-{uuid.uuid4().hex[:6]}", kind=TargetKind.LOCAL,
        docker_socket=engine.host))
    return target.id


async def _volumes(engine: DockerEngine) -> set[str]:
    out = await asyncio.to_thread(engine.cli, "volume", "ls", "--format", "{{.Name}}")
    return set(out.split())


async def test_list_preview_and_remove_through_the_server(
        session: ServerSession, docker_engine: DockerEngine) -> None:
    target = await _target(session, docker_engine)
    volume = f"rd-{uuid.uuid4().hex[:6]}"
    docker_engine.cli("volume", "create", volume)
    try:
        disk = RemoteDisk(session)
        usage = await disk.usage(NOBODY, target)
        assert volume in [v.name for v in usage.volumes]
        assert any(BUSYBOX_IMAGE in i.tags for i in usage.images)
        # As the server itself says it (the same reading, not only the same names).
        raw = await session.request("GET", f"/targets/{target}/disk")
        assert volume in [v["name"] for v in raw["volumes"]]
        plan = await disk.prune_preview(NOBODY, target, DiskKind.VOLUMES)
        assert plan.kind is DiskKind.VOLUMES
        assert volume in [item.name for item in plan.items]
        await disk.remove(NOBODY, target, DiskKind.VOLUMES, volume)
        assert volume not in await _volumes(docker_engine)
        assert volume not in [v.name for v in (await disk.usage(NOBODY, target)).volumes]
        with pytest.raises(NotFoundError):
            await disk.remove(NOBODY, target, DiskKind.VOLUMES, volume)
        with pytest.raises(NotFoundError):
            await disk.usage(NOBODY, uuid.uuid4())
        with pytest.raises(ValidationError) as bad:
            await disk.remove(NOBODY, target, DiskKind.VOLUMES, "v" * 301)
        assert bad.value.field == "ref"
    finally:
        docker_engine.cli("volume", "rm", "-f", volume, check=False)


async def test_a_viewer_looks_and_is_refused_the_rest(
        server: Server, session: ServerSession, docker_engine: DockerEngine) -> None:
    target = await _target(session, docker_engine)
    volume = f"rd-{uuid.uuid4().hex[:6]}"
    docker_engine.cli("volume", "create", volume)
    viewer_session = await signed_in(server, "vera")
    try:
        viewer = RemoteDisk(viewer_session)
        assert volume in [v.name for v in (await viewer.usage(NOBODY, target)).volumes]
        assert volume in [i.name for i in
                          (await viewer.prune_preview(NOBODY, target, DiskKind.VOLUMES)).items]
        with pytest.raises(PermissionDeniedError):
            await viewer.remove(NOBODY, target, DiskKind.VOLUMES, volume)
        with pytest.raises(PermissionDeniedError):
            await viewer.prune(NOBODY, target, DiskKind.VOLUMES)
        assert volume in await _volumes(docker_engine)   # left as it was
    finally:
        await viewer_session.close()
        docker_engine.cli("volume", "rm", "-f", volume, check=False)


async def test_prune_and_an_image_tag_on_an_engine_of_its_own(
        session: ServerSession, own_engine: DockerEngine, tmp_path: Path) -> None:
    target = await _target(session, own_engine)
    disk = RemoteDisk(session)
    unused, used = f"rd-free-{uuid.uuid4().hex[:6]}", f"rd-used-{uuid.uuid4().hex[:6]}"
    own_engine.cli("volume", "create", unused)
    own_engine.cli("run", "-d", "--network", "none", "--stop-signal", "SIGKILL",
                   "-v", f"{used}:/data", BUSYBOX_IMAGE, "sleep", "300")
    plan = await disk.prune_preview(NOBODY, target, DiskKind.VOLUMES)
    assert [i.name for i in plan.items] == [unused]
    result = await disk.prune(NOBODY, target, DiskKind.VOLUMES)
    assert result.kind is DiskKind.VOLUMES
    assert result.removed == (unused,) and result.failed == ()
    assert await _volumes(own_engine) == {used}

    # An image by a tag with a slash and a colon (it travels in the path): only that
    # tag goes.
    tag = f"localhost/rd-{uuid.uuid4().hex[:6]}:1"
    own_engine.cli("tag", BUSYBOX_IMAGE, tag)
    assert any(tag in i.tags for i in (await disk.usage(NOBODY, target)).images)
    await disk.remove(NOBODY, target, DiskKind.IMAGES, tag)
    tags = [t for i in (await disk.usage(NOBODY, target)).images for t in i.tags]
    assert tag not in tags and BUSYBOX_IMAGE in tags

    # By id, an image under two names is refused unless forced: ``force`` reaches the
    # engine. The refusal carries the engine's code and words as in local mode (there a
    # DockerApiError; through the server a 400, read back as a ValidationError).
    blob = tmp_path / "blob"
    blob.write_bytes(b"x" * 1024)
    with tarfile.open(tmp_path / "blob.tar", "w") as tar:
        tar.add(blob, arcname="blob")
    first, second = f"localhost/rd-a-{uuid.uuid4().hex[:6]}:1", "localhost/rd-b:1"
    own_engine.cli("import", str(tmp_path / "blob.tar"), first)
    own_engine.cli("tag", first, second)
    image_id = own_engine.cli("image", "inspect", "--format", "{{.Id}}", first).strip()
    with pytest.raises(WindFlowError, match="must be forced") as refused:
        await disk.remove(NOBODY, target, DiskKind.IMAGES, image_id)
    assert refused.value.code == "DOCKER_API_ERROR"
    assert image_id in [i.id for i in (await disk.usage(NOBODY, target)).images]
    await disk.remove(NOBODY, target, DiskKind.IMAGES, image_id, force=True)
    assert image_id not in [i.id for i in (await disk.usage(NOBODY, target)).images]
