"""DiskService on a real engine: images, volumes and networks listed with what uses them;
a prune preview that shows the bytes, a prune that removes only the unused and reports
the bytes the engine freed; a WindFlow deployment's volumes kept (and their removal
refused, with the stack); a viewer may look but not remove; SSH and TCP+TLS targets
reach the engine the same way.

The prune test runs on this module's own dockerd, not the session's: pruning removes every
unused image and volume of the engine, the session's busybox image and other tests'
leftovers included (and the engine's own image prune would also untag a used image's
extra tags — the reason the service removes item by item)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.env.docker import BUSYBOX_IMAGE, DockerEngine, start_docker
from tests.env.keyring_backend import MemoryKeyring
from tests.support.auth import Clock, RecordingBus, add_member, add_org
from tests.support.target import TargetWorld, engine_settings
from windflow_desktop.domain.compose import project_name
from windflow_desktop.domain.containers import DiskKind, DiskUsage, ImageUsage
from windflow_desktop.domain.enums import DeploymentStatus, Role, TargetKind
from windflow_desktop.domain.errors import ConflictError, PermissionDeniedError
from windflow_desktop.domain.identity import Principal
from windflow_desktop.domain.models import Deployment, Target
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.engine.errors import DockerApiError
from windflow_desktop.engine.pool import ExecutorPool
from windflow_desktop.engine.ssh import KnownHosts
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.disk import VOLUME_PROTECTED, DiskService
from windflow_desktop.services.stacks import StackService
from windflow_desktop.services.targets import TargetService

pytestmark = pytest.mark.docker

COMPOSE = "services:\n  db:\n    image: localhost/busybox\n"
UNUSED_IMAGE = "localhost/wf-unused:1"
UNUSED_TAG = "localhost/wf-unused:also"
EXTRA_TAG = "localhost/busybox:extra"   # a second tag of an image a container uses
BLOB_BYTES = 64 * 1024


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerEngine]:
    engine = start_docker()
    try:
        folder = tmp_path_factory.mktemp("image")
        (folder / "blob").write_bytes(os.urandom(BLOB_BYTES))
        subprocess.run(["tar", "-C", str(folder), "-cf", str(folder / "blob.tar"), "blob"],
                       check=True)
        engine.cli("import", str(folder / "blob.tar"), UNUSED_IMAGE)
        engine.cli("tag", UNUSED_IMAGE, UNUSED_TAG)
        engine.cli("tag", BUSYBOX_IMAGE, EXTRA_TAG)
        yield engine
    finally:
        engine.stop()


@dataclass
class World:
    service: DiskService
    bus: RecordingBus
    owner: Principal
    viewer: Principal
    target: Target
    deployment: Deployment
    docker: DockerEngine

    def run(self, *args: str, volume: str, project: str = "", name: str = "") -> str:
        """A container (running ``sleep``, or exited after writing to its volume)."""
        labels = ["--label", f"com.docker.compose.project={project}"] if project else []
        command = ["sleep", "300"] if name else ["sh", "-c", "seq 1 20000 > /data/numbers"]
        return self.docker.cli("run", "-d", *(["--name", name] if name else []),
                               "--network", "none", "--stop-signal", "SIGKILL", *labels,
                               "-v", f"{volume}:/data", *args, BUSYBOX_IMAGE, *command).strip()


@pytest.fixture
async def world(engine: DockerEngine, tmp_path: Path) -> AsyncIterator[World]:
    backend = SqlBackend(f"sqlite+aiosqlite:///{tmp_path / 'workspace.db'}")
    await backend.open()
    secrets = SecretStore(MemoryKeyring())
    pool = ExecutorPool(KnownHosts(tmp_path / "known_hosts"), secrets.aget,
                        settings=engine_settings())
    bus = RecordingBus()
    ctx = ServiceContext(backend, bus, clock=Clock())
    org = await add_org(backend, f"org{uuid.uuid4().hex[:6]}")
    owner = await add_member(backend, org.id, f"owner{uuid.uuid4().hex[:6]}", Role.OWNER)
    viewer = await add_member(backend, org.id, f"viewer{uuid.uuid4().hex[:6]}", Role.VIEWER)
    target = await TargetService(ctx, secrets, pool).create_target(
        owner, TargetSpec(name="local", kind=TargetKind.LOCAL, docker_socket=engine.host))
    stack, revision = await StackService(ctx).create_stack(owner, name="Shop",
                                                           compose_yaml=COMPOSE)
    async with backend.unit_of_work() as uow:
        deployment = await uow.deployments.add(Deployment(
            organization_id=org.id, stack_id=stack.id, revision_id=revision.id,
            target_id=target.id, project_name=project_name(stack.slug, stack.id, target.id),
            status=DeploymentStatus.SUCCEEDED))
        await uow.commit()
    try:
        yield World(DiskService(ctx, pool), bus, owner, viewer, target, deployment, engine)
    finally:
        await pool.close()
        await backend.close()


def _image(usage: DiskUsage, tag: str) -> ImageUsage:
    return next(i for i in usage.images if tag in i.tags)


async def _tags(w: World) -> set[str]:
    out = await asyncio.to_thread(w.docker.cli, "images", "--format", "{{.Repository}}:{{.Tag}}")
    return set(out.split())


async def test_list_preview_prune_and_protect(world: World) -> None:
    w, t = world, world.target.id
    project = w.deployment.project_name
    managed_used, managed_idle = f"{project}_data", f"{project}_cache"
    other_wf = "wf-elsewhere-0123abcd_data"   # named like WindFlow's, not this workspace's
    free, plain = f"free-{uuid.uuid4().hex[:6]}", f"plain-{uuid.uuid4().hex[:6]}"
    await asyncio.to_thread(w.docker.cli, "volume", "create", "--label",
                            f"com.docker.compose.project={project}", managed_idle)
    await asyncio.to_thread(w.docker.cli, "volume", "create", "--label",
                            "com.docker.compose.project=wf-elsewhere-0123abcd", other_wf)
    writer = await asyncio.to_thread(w.run, volume=free)  # leaves data in it, then exits
    await asyncio.to_thread(w.docker.cli, "wait", writer)
    await asyncio.to_thread(w.docker.cli, "rm", writer)
    await asyncio.to_thread(w.run, volume=managed_used, project=project, name="shop-db")
    await asyncio.to_thread(w.run, volume=plain, name="plain-user")

    # -- listing (a viewer may read) -----------------------------------------------------
    usage = await w.service.usage(w.viewer, t)
    unused = _image(usage, UNUSED_IMAGE)
    assert unused.used_by == () and UNUSED_TAG in unused.tags
    assert unused.size_bytes >= BLOB_BYTES
    busybox = _image(usage, BUSYBOX_IMAGE)
    assert busybox.used_by == ("plain-user", "shop-db")
    volumes = {v.name: v for v in usage.volumes}
    assert volumes[free].used_by == () and volumes[free].managed is None
    assert (volumes[free].size_bytes or 0) > 0 and volumes[free].driver == "local"
    used = volumes[managed_used]
    assert used.used_by == ("shop-db",) and used.protected
    assert used.managed is not None and used.managed.stack_name == "Shop"
    assert used.managed.deployment_id == w.deployment.id
    assert volumes[managed_idle].used_by == () and volumes[managed_idle].protected
    assert volumes[other_wf].protected and volumes[other_wf].managed is not None
    assert volumes[other_wf].managed.deployment_id is None
    assert volumes[plain].used_by == ("plain-user",) and not volumes[plain].protected
    networks = {n.name: n for n in usage.networks}
    assert networks["none"].builtin and "shop-db" in networks["none"].containers

    # -- the preview: what goes, what stays and why ---------------------------------------
    images_plan = await w.service.prune_preview(w.viewer, t, DiskKind.IMAGES)
    assert [i.name for i in images_plan.items] == [unused.name]
    assert images_plan.bytes >= BLOB_BYTES
    volumes_plan = await w.service.prune_preview(w.owner, t, DiskKind.VOLUMES)
    assert [i.name for i in volumes_plan.items] == [free]
    assert volumes_plan.bytes == volumes[free].size_bytes
    kept = dict(volumes_plan.kept)
    assert set(kept) == {managed_idle, other_wf}
    assert "stack Shop" in kept[managed_idle] and project in kept[managed_idle]

    # -- a viewer may not remove or prune --------------------------------------------------
    with pytest.raises(PermissionDeniedError):
        await w.service.prune(w.viewer, t, DiskKind.IMAGES)
    with pytest.raises(PermissionDeniedError):
        await w.service.remove(w.viewer, t, DiskKind.VOLUMES, free)
    assert UNUSED_IMAGE in await _tags(w)

    # -- prune: only the unused goes; the bytes are the engine's ---------------------------
    pruned = await w.service.prune(w.owner, t, DiskKind.IMAGES)
    assert pruned.removed == (unused.name,) and pruned.failed == ()
    assert pruned.bytes_freed >= BLOB_BYTES
    assert await _tags(w) == {BUSYBOX_IMAGE, EXTRA_TAG}  # the used image keeps both tags
    pruned = await w.service.prune(w.owner, t, DiskKind.VOLUMES)
    assert pruned.removed == (free,) and pruned.bytes_freed == volumes[free].size_bytes
    left = set((await asyncio.to_thread(w.docker.cli, "volume", "ls", "-q")).split())
    assert left == {managed_used, managed_idle, other_wf, plain}

    # -- removing one: a deployment's volume is refused with the reason -------------------
    for name in (managed_used, managed_idle):
        with pytest.raises(ConflictError) as refused:
            await w.service.remove(w.owner, t, DiskKind.VOLUMES, name)
        assert refused.value.code == VOLUME_PROTECTED
        assert "stack Shop" in refused.value.message and project in refused.value.message
    with pytest.raises(DockerApiError, match="in use"):  # the engine's words
        await w.service.remove(w.owner, t, DiskKind.VOLUMES, plain)
    await asyncio.to_thread(w.docker.cli, "rm", "-f", "plain-user")
    await w.service.remove(w.owner, t, DiskKind.VOLUMES, plain)
    left = set((await asyncio.to_thread(w.docker.cli, "volume", "ls", "-q")).split())
    assert left == {managed_used, managed_idle, other_wf}

    events = {e.event_type: e for e in w.bus.events}
    assert events["image.pruned"].data["bytes_freed"] >= BLOB_BYTES
    assert events["volume.pruned"].data["removed"] == [free]
    assert events["volume.removed"].aggregate_id == plain


@pytest.mark.parametrize("kind", ["ssh", "tls"])
async def test_ssh_and_tls_targets_list_preview_and_remove(target_world: TargetWorld,
                                                           kind: str) -> None:
    w = target_world  # the session's engine: nothing is pruned here
    spec = w.ssh_spec() if kind == "ssh" else w.tls_spec()
    target = await w.targets.create_target(w.owner, spec)
    service = DiskService(ServiceContext(w.backend, w.bus, clock=w.clock), w.pool)
    name = f"probe-{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(w.docker.cli, "volume", "create", name)
    try:
        usage = await service.usage(w.viewer, target.id)
        assert any(BUSYBOX_IMAGE in i.tags for i in usage.images)
        assert next(v for v in usage.volumes if v.name == name).used_by == ()
        plan = await service.prune_preview(w.viewer, target.id, DiskKind.VOLUMES)
        assert name in [i.name for i in plan.items]
        await service.remove(w.owner, target.id, DiskKind.VOLUMES, name)
        volumes = (await asyncio.to_thread(w.docker.cli, "volume", "ls", "-q")).split()
        assert name not in volumes
        assert "volume.removed" in w.bus.types()
    finally:
        await asyncio.to_thread(w.docker.cli, "volume", "rm", "-f", name, check=False)
