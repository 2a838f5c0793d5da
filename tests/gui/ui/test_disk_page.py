"""The Disk page and the Containers page's detail panel over the real services and a
real dockerd: the three tabs list what the engine has; the prune preview shows the bytes
and prune reports the space freed; a protected volume's Remove is disabled with the
reason; a viewer sees no Remove or Prune; the detail panel shows ports and mounts and
masks secret values of the environment.

The page that prunes runs on this module's own dockerd (pruning removes every unused
image and volume of the engine: never on the session's shared one)."""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from tests.env.docker import BUSYBOX_IMAGE, DockerEngine, start_docker
from tests.support.auth import PASSWORD
from tests.support.qt import Workspace
from tests.support.targets_store import alices_targets
from windflow_desktop.domain.compose import project_name
from windflow_desktop.domain.containers import DiskKind, ImageUsage, VolumeUsage
from windflow_desktop.domain.enums import DeploymentStatus, Role, TargetKind
from windflow_desktop.domain.models import Deployment, Target
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.engine.pool import ExecutorPool
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.containers import ContainerService
from windflow_desktop.services.deploy.values import SECRET_REF
from windflow_desktop.services.disk import DiskService
from windflow_desktop.services.stacks import StackService
from windflow_desktop.stores.container_detail import ContainerDetailStore
from windflow_desktop.stores.containers import ContainersStore
from windflow_desktop.stores.disk import DiskStore
from windflow_desktop.stores.targets import TargetsStore
from windflow_desktop.ui.models.base import ROW_ROLE
from windflow_desktop.ui.views.containers import CONTAINER_ROLE, ContainersPage
from windflow_desktop.ui.views.disk import DiskPage, DiskTab
from windflow_desktop.ui.widgets.target_text import human_size

pytestmark = pytest.mark.docker

WAIT_MS = 30_000
UNUSED_IMAGE = "localhost/wf-unused:1"
BLOB_BYTES = 256 * 1024
COMPOSE = "services:\n  db:\n    image: localhost/busybox\n"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerEngine]:
    """A dockerd of this module's own (it gets pruned), with an image nothing uses."""
    engine = start_docker()
    try:
        folder = tmp_path_factory.mktemp("image")
        (folder / "blob").write_bytes(os.urandom(BLOB_BYTES))
        subprocess.run(["tar", "-C", str(folder), "-cf", str(folder / "blob.tar"), "blob"],
                       check=True)
        engine.cli("import", str(folder / "blob.tar"), UNUSED_IMAGE)
        yield engine
    finally:
        engine.stop()


@dataclass
class World:
    ws: Workspace
    pool: ExecutorPool
    targets: TargetsStore
    ctx: ServiceContext

    def local_target(self, docker: DockerEngine) -> Target:
        return self.ws.run(self.targets.save(TargetSpec(name="laptop", kind=TargetKind.LOCAL,
                                                        docker_socket=docker.host)))

    def deployment(self, target: Target, variables: dict[str, object] | None = None
                   ) -> Deployment:
        """A deployment row of the stack "Shop" on ``target`` (nothing runs)."""
        owner = self.ws.session.require_principal()
        stack, revision = self.ws.run(StackService(self.ctx).create_stack(
            owner, name=f"Shop {uuid.uuid4().hex[:4]}", compose_yaml=COMPOSE))

        async def add() -> Deployment:
            async with self.ctx.backend.unit_of_work() as uow:
                dep = await uow.deployments.add(Deployment(
                    organization_id=owner.organization_id, stack_id=stack.id,
                    revision_id=revision.id, target_id=target.id,
                    project_name=project_name(stack.slug, stack.id, target.id),
                    status=DeploymentStatus.SUCCEEDED, variables=variables or {}))
                await uow.commit()
                return dep

        return self.ws.run(add())


@pytest.fixture
def world(workspace: Workspace, tmp_path: Path) -> Iterator[World]:
    targets, pool, _questions = alices_targets(workspace, tmp_path)
    svc = workspace.services
    try:
        yield World(workspace, pool, targets,
                    ServiceContext(svc.backend, svc.bus, clock=svc.clock))
    finally:
        workspace.run(targets.shutdown())
        workspace.run(pool.close())


def open_disk_page(qtbot: QtBot, w: World, target: Target) -> tuple[DiskPage, DiskStore]:
    store = DiskStore(DiskService(w.ctx, w.pool), w.ws.session)
    page = DiskPage(store, w.targets)
    qtbot.addWidget(page)
    page.resize(1200, 700)
    page.show()
    page.select_target(target.id)
    qtbot.waitUntil(lambda: store.usage is not None and not store.busy, timeout=WAIT_MS)
    return page, store


def rows(tab: DiskTab) -> list[object]:
    return list(tab.model.rows())


def select(tab: DiskTab, match: object) -> None:
    for r in range(tab.proxy.rowCount()):
        if tab.proxy.index(r, 0).data(ROW_ROLE) == match:
            tab.table.selectRow(r)
            return
    raise AssertionError(f"{match} is not listed")


def answer(qtbot: QtBot, page: DiskPage, button: str) -> str:
    """Click ``button`` in the question the page shows; returns the question's text."""
    qtbot.waitUntil(lambda: page.confirm_box is not None and page.confirm_box.isVisible(),
                    timeout=WAIT_MS)
    box = page.confirm_box
    assert isinstance(box, QMessageBox)
    text = f"{box.text()}\n{box.informativeText()}"
    next(b for b in box.findChildren(QPushButton) if b.text() == button).click()
    page.confirm_box = None
    return text


def test_tabs_list_prune_previewed_and_reported_protected_volume(
        qtbot: QtBot, world: World, engine: DockerEngine, qtmodeltester: object,
        tmp_path: Path) -> None:
    w = world
    target = w.local_target(engine)
    dep = w.deployment(target)
    protected = f"{dep.project_name}_cache"
    engine.cli("volume", "create", "--label",
               f"com.docker.compose.project={dep.project_name}", protected)
    free, busy = f"free-{uuid.uuid4().hex[:6]}", f"busy-{uuid.uuid4().hex[:6]}"
    writer = engine.cli("run", "-d", "--network", "none", "-v", f"{free}:/data", BUSYBOX_IMAGE,
                        "sh", "-c", "seq 1 20000 > /data/numbers").strip()
    engine.cli("wait", writer)
    engine.cli("rm", writer)
    engine.cli("run", "-d", "--name", "user", "--network", "none", "--stop-signal", "SIGKILL",
               "-v", f"{busy}:/data", BUSYBOX_IMAGE, "sleep", "300")

    page, store = open_disk_page(qtbot, w, target)
    for tab in page.tab_of.values():
        qtmodeltester.check(tab.model)  # type: ignore[attr-defined]
        assert not tab.remove_button.isHidden() and not tab.prune_button.isHidden()  # owner

    # -- the tabs list what the engine has ---------------------------------------------
    tags = set(engine.cli("images", "--format", "{{.Repository}}:{{.Tag}}").split())
    listed = {t for i in rows(page.images) if isinstance(i, ImageUsage) for t in i.tags}
    assert listed == tags == {BUSYBOX_IMAGE, UNUSED_IMAGE}
    assert set(engine.cli("volume", "ls", "-q").split()) == \
        {v.name for v in rows(page.volumes) if isinstance(v, VolumeUsage)} == \
        {protected, free, busy}
    networks = set(engine.cli("network", "ls", "--format", "{{.Name}}").split())
    assert {str(page.networks.model.index(r, 0).data())
            for r in range(page.networks.model.rowCount())} == networks
    busybox = next(i for i in rows(page.images)
                   if isinstance(i, ImageUsage) and BUSYBOX_IMAGE in i.tags)
    position = page.images.model.position(busybox.id)
    assert position is not None
    assert page.images.model.index(position, 3).data() == "user"           # used by
    assert re.fullmatch(r"[\d.]+ (KB|MB)", page.images.model.index(position, 1).data())
    assert page.tabs.tabText(1) == "Volumes (3)"

    # -- a protected volume: Remove disabled, the reason as its tooltip -----------------
    volume_of = {v.name: v for v in rows(page.volumes) if isinstance(v, VolumeUsage)}
    row = page.volumes.model.position(protected)
    assert row is not None
    assert page.volumes.model.index(row, 4).data().startswith("protected: stack Shop")
    page.tabs.setCurrentWidget(page.volumes)
    select(page.volumes, volume_of[protected])
    assert not page.volumes.remove_button.isEnabled()
    assert "stack Shop" in page.volumes.remove_button.toolTip()
    assert dep.project_name in page.volumes.remove_button.toolTip()
    select(page.volumes, volume_of[busy])
    assert not page.volumes.remove_button.isEnabled()
    assert "user" in page.volumes.remove_button.toolTip()
    select(page.volumes, volume_of[free])
    assert page.volumes.remove_button.isEnabled()
    page.grab().save(str(tmp_path / "disk-volumes.png"))

    # -- prune images: the preview shows what goes and the bytes, then the bytes freed ---
    unused = next(i for i in rows(page.images)
                  if isinstance(i, ImageUsage) and UNUSED_IMAGE in i.tags)
    page.images.prune_button.click()
    question = answer(qtbot, page, "Prune")
    assert UNUSED_IMAGE in question and BUSYBOX_IMAGE not in question
    assert f"This frees {human_size(unused.unique_bytes)}" in question
    assert unused.unique_bytes >= BLOB_BYTES
    qtbot.waitUntil(lambda: "freed" in page.messages.text(), timeout=WAIT_MS)
    freed = re.search(r"Pruned 1 image: ([\d.]+ \w+) freed", page.messages.text())
    assert freed is not None, page.messages.text()
    assert freed.group(1) == human_size(unused.unique_bytes)
    assert set(engine.cli("images", "--format", "{{.Repository}}:{{.Tag}}").split()) == \
        {BUSYBOX_IMAGE}
    qtbot.waitUntil(lambda: page.images.model.position(unused.id) is None, timeout=WAIT_MS)

    # -- prune volumes: the preview says what is kept and why ----------------------------
    page.volumes.prune_button.click()
    qtbot.waitUntil(lambda: page.confirm_box is not None and page.confirm_box.isVisible(),
                    timeout=WAIT_MS)
    page.confirm_box.grab().save(str(tmp_path / "disk-prune-preview.png"))
    question = answer(qtbot, page, "Cancel")
    assert free in question and f"{protected} — kept: it belongs to stack Shop" in question
    assert busy not in question
    assert human_size(volume_of[free].size_bytes or 0) in question
    assert free in engine.cli("volume", "ls", "-q").split()  # cancelled: nothing went

    # -- remove one volume, asked first ---------------------------------------------------
    select(page.volumes, volume_of[free])
    page.volumes.remove_button.click()
    assert free in answer(qtbot, page, "Remove")
    qtbot.waitUntil(lambda: page.volumes.model.position(free) is None, timeout=WAIT_MS)
    assert set(engine.cli("volume", "ls", "-q").split()) == {protected, busy}
    assert f"Removed the volume {free}" in page.messages.text()
    page.tabs.setCurrentWidget(page.images)
    page.grab().save(str(tmp_path / "disk-images.png"))

    # -- removed elsewhere (another window): its event reloads the page ------------------
    engine.cli("rm", "-f", "user")
    bus = w.ws.services.bus
    seen = len(bus.events)
    w.ws.run(DiskService(w.ctx, w.pool).remove(w.ws.session.require_principal(), target.id,
                                               DiskKind.VOLUMES, busy))
    assert page.volumes.model.position(busy) is not None
    store.apply_events(bus.events[seen:])
    qtbot.waitUntil(lambda: page.volumes.model.position(busy) is None, timeout=WAIT_MS)
    assert page.tabs.tabText(1) == "Volumes (1)"


def test_a_viewer_sees_no_remove_or_prune(qtbot: QtBot, world: World,
                                          docker_engine: DockerEngine) -> None:
    w, svc = world, world.ws.services
    target = w.local_target(docker_engine)
    owner = w.ws.session.require_principal()
    w.ws.run(svc.users.create_user(owner, username="bob", email="bob@example.test",
                                   password=PASSWORD, role=Role.VIEWER))
    w.ws.run(w.ws.session.logout())
    w.ws.run(w.ws.session.login("bob", PASSWORD))
    qtbot.waitUntil(lambda: w.targets.loaded and not w.targets.busy, timeout=WAIT_MS)
    page, store = open_disk_page(qtbot, w, target)
    assert store.usage is not None and any(BUSYBOX_IMAGE in i.tags for i in store.usage.images)
    assert page.images.model.rowCount() == len(store.usage.images)
    for tab in page.tab_of.values():
        assert tab.remove_button.isHidden() and tab.prune_button.isHidden()
    page.tabs.setCurrentWidget(page.images)
    page.images.table.selectRow(0)
    page.confirm_remove(page.images)  # the Delete key's path: nothing is asked
    assert page.confirm_box is None


def test_container_detail_shows_ports_mounts_and_masks_secrets(
        qtbot: QtBot, world: World, docker_engine: DockerEngine, tmp_path: Path) -> None:
    w, svc = world, world.ws.services
    target = w.local_target(docker_engine)
    ref = f"deployment/{uuid.uuid4()}/var/SEED"
    seed = f"s33d-{uuid.uuid4().hex}"
    w.ws.run(svc.secrets.aset(ref, seed))
    w.deployment(target, {"SEED": {SECRET_REF: ref}})  # a deployment's known secret value
    suffix = uuid.uuid4().hex[:6]
    network, volume, name = f"detail-{suffix}", f"detail-data-{suffix}", f"detail-{suffix}"
    (tmp_path / "conf").mkdir()
    docker_engine.cli("network", "create", network)
    container = docker_engine.cli(
        "run", "-d", "--name", name, "--network", network, "--stop-signal", "SIGKILL",
        "-p", "127.0.0.1::80", "--restart", "on-failure:3",
        "-v", f"{volume}:/data", "-v", f"{tmp_path / 'conf'}:/conf:ro",
        "-e", "GREETING=hello there", "-e", "API_TOKEN=plain-but-named-so",
        "-e", f"WELCOME={seed}", "--health-cmd", "echo ok", "--health-interval", "1s",
        BUSYBOX_IMAGE, "sleep", "300").strip()
    try:
        qtbot.waitUntil(lambda: docker_engine.cli(
            "inspect", "-f", "{{len .State.Health.Log}}", container).strip() not in ("", "0"),
            timeout=WAIT_MS)
        containers = ContainersStore(ContainerService(w.ctx, w.pool, svc.secrets),
                                     w.ws.session)
        detail = ContainerDetailStore(ContainerService(w.ctx, w.pool, svc.secrets),
                                      w.ws.session)
        page = ContainersPage(containers, w.targets, detail=detail)
        qtbot.addWidget(page)
        page.resize(1280, 760)
        page.show()
        page.select_target(target.id)
        qtbot.waitUntil(lambda: any(c.id == container for c in containers.containers),
                        timeout=WAIT_MS)
        panel = page.detail_panel
        assert panel is not None
        assert panel.state.text() == "Select a container to see its detail."
        item = next(head.child(i, 0)
                    for head in (page.model.item(r, 0) for r in range(page.model.rowCount()))
                    for i in range(head.rowCount())
                    if head.child(i, 0).data(CONTAINER_ROLE).id == container)
        page.tree.setCurrentIndex(page.proxy.mapFromSource(page.model.indexFromItem(item)))
        qtbot.waitUntil(lambda: detail.detail is not None and not panel.body.isHidden(),
                        timeout=WAIT_MS)
        port = docker_engine.cli("port", container, "80/tcp").split()[0]  # 127.0.0.1:NNNNN
        assert panel.title.text() == f"Detail — {name} ({container[:12]})"
        assert panel.text("Image") == BUSYBOX_IMAGE
        assert panel.text("Command") == "sleep 300"
        assert panel.text("Ports") == f"{port} → 80/tcp"
        mounts = panel.text("Mounts").splitlines()
        assert f"{volume} → /data (volume, read-write)" in mounts
        assert f"{tmp_path / 'conf'} → /conf (bind, read-only)" in mounts
        assert panel.text("Restart policy") == "on-failure (at most 3 retries)"
        assert panel.text("State").startswith("running")
        assert "passed — ok" in panel.text("Health log")
        env = {str(panel.env_model.index(r, 0).data()): str(panel.env_model.index(r, 1).data())
               for r in range(panel.env_model.rowCount())}
        assert env["GREETING"] == "hello there"
        assert env["API_TOKEN"] == "********"   # a name that says secret
        assert env["WELCOME"] == "********"     # a deployment's secret, a harmless name
        assert seed not in repr(detail.detail)
        page.grab().save(str(tmp_path / "containers-detail.png"))

        page.tree.setCurrentIndex(page.proxy.index(0, 0))  # a project heading: no container
        page.tree.clearSelection()
        qtbot.waitUntil(lambda: detail.container_id is None, timeout=WAIT_MS)
        assert panel.body.isHidden()
        w.ws.run(containers.shutdown())
        w.ws.run(detail.shutdown())
    finally:
        docker_engine.cli("rm", "-f", container, check=False)
        docker_engine.cli("volume", "rm", "-f", volume, check=False)
        docker_engine.cli("network", "rm", network, check=False)
