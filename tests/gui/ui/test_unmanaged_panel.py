"""The Containers page's "Not managed by WindFlow" group over the real services and
dockerd: a project started by hand with ``docker compose`` is listed with its
containers (and a plain container apart); an operator sees "Adopt…", adopts it through
the dialog (no container recreated) and the project leaves the group; a viewer sees the
group without "Adopt…"."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.env.docker import BUSYBOX_IMAGE, DockerEngine
from tests.support.adopt import APP, compose_up, ids_of, remove
from tests.support.auth import PASSWORD
from tests.support.qt import Workspace
from tests.support.targets_store import alices_targets
from windflow_desktop.domain.enums import Role, TargetKind
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.services.adopt import AdoptService
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.containers import ContainerService
from windflow_desktop.stores.adopt import AdoptStore
from windflow_desktop.stores.containers import ContainersStore
from windflow_desktop.stores.targets import TargetsStore
from windflow_desktop.ui.views.containers import ContainersPage

pytestmark = pytest.mark.gui
WAIT_MS = 30_000
SHOT = Path("/tmp/wf-adopt-shots")


@dataclass
class Env:
    ws: Workspace
    targets: TargetsStore
    containers: ContainersStore
    adopt: AdoptStore
    docker: DockerEngine


@pytest.fixture
def env(workspace: Workspace, tmp_path: Path, docker_engine: DockerEngine) -> Iterator[Env]:
    targets, pool, _keys = alices_targets(workspace, tmp_path)
    svc = workspace.services
    ctx = ServiceContext(svc.backend, svc.bus, clock=svc.clock)
    containers = ContainersStore(ContainerService(ctx, pool, svc.secrets), workspace.session)
    adopt = AdoptStore(AdoptService(ctx, pool, svc.secrets), workspace.session)
    try:
        yield Env(workspace, targets, containers, adopt, docker_engine)
    finally:
        for store in (adopt, containers, targets):
            workspace.run(store.shutdown())
        workspace.run(pool.close())


def _sign_in_as(env: Env, qtbot: QtBot, name: str, role: Role) -> None:
    owner = env.ws.session.require_principal()
    env.ws.run(env.ws.services.users.create_user(
        owner, username=name, email=f"{name}@example.test", password=PASSWORD, role=role))
    env.ws.run(env.ws.session.logout())
    env.ws.run(env.ws.session.login(name, PASSWORD))
    qtbot.waitUntil(lambda: env.targets.loaded and not env.targets.busy, timeout=WAIT_MS)


def _open(env: Env, qtbot: QtBot) -> ContainersPage:
    target = next(t for t in env.targets.targets if t.name == "laptop")
    page = ContainersPage(env.containers, env.targets, adopt=env.adopt)
    qtbot.addWidget(page)
    page.resize(1280, 900)
    page.show()
    page.select_target(target.id)
    qtbot.waitUntil(lambda: env.adopt.unmanaged is not None, timeout=WAIT_MS)
    return page


def test_an_operator_adopts_a_project_from_the_containers_page(
        qtbot: QtBot, env: Env, tmp_path: Path) -> None:
    env.ws.run(env.targets.save(TargetSpec(name="laptop", kind=TargetKind.LOCAL,
                                           docker_socket=env.docker.host)))
    folder = tmp_path / "by-hand"
    folder.mkdir()
    (folder / "compose.yaml").write_text(APP)
    (folder / ".env").write_text("DB_PASSWORD=hunter2\n")
    compose_up(env.docker, folder, "guix", tmp_path)
    plain = env.docker.cli("run", "-d", "--name", "gui-loner", "--network", "none",
                           "--stop-signal", "SIGKILL", BUSYBOX_IMAGE, "sleep", "1000").strip()
    try:
        _sign_in_as(env, qtbot, "carl", Role.OPERATOR)
        page = _open(env, qtbot)
        panel = page.unmanaged
        assert panel is not None and panel.isVisibleTo(page)
        assert panel.title() == "Not managed by WindFlow"
        heads = {panel.tree.topLevelItem(i).text(0): panel.tree.topLevelItem(i)
                 for i in range(panel.tree.topLevelItemCount())}
        head = next(item for text, item in heads.items() if text.startswith("guix"))
        assert head.text(0) == "guix  (2/2 running)"
        assert {head.child(i).text(0) for i in range(head.childCount())} == {"web", "worker"}
        assert any(text.startswith("Plain containers") for text in heads)
        assert panel.adopt_button.isVisibleTo(page) and not panel.adopt_button.isEnabled()
        SHOT.mkdir(exist_ok=True)
        page.grab().save(str(SHOT / "containers-unmanaged.png"))

        panel.tree.setCurrentItem(head)
        assert panel.adopt_button.isEnabled()
        before = ids_of(env.docker, "guix")
        dialog = panel.open_adopt()
        assert dialog is not None and dialog.from_files.isChecked()
        assert dialog.name.text() == "guix"
        dialog.name.setText("Gui shop")
        dialog.grab().save(str(SHOT / "adopt-dialog.png"))
        with qtbot.waitSignal(env.adopt.sig_adopted, timeout=WAIT_MS) as adopted:
            dialog.submit_button.click()
        assert adopted.args is not None and adopted.args[0].stack_name == "Gui shop"
        qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=WAIT_MS)
        qtbot.waitUntil(lambda: env.adopt.unmanaged is not None
                        and env.adopt.unmanaged.project("guix") is None, timeout=WAIT_MS)
        assert ids_of(env.docker, "guix") == before
        assert "is now the stack Gui shop" in panel.messages.text()
    finally:
        env.docker.cli("rm", "-f", plain, check=False)
        remove(env.docker, "guix")


def test_a_viewer_sees_the_group_without_adopt(qtbot: QtBot, env: Env, tmp_path: Path) -> None:
    env.ws.run(env.targets.save(TargetSpec(name="laptop", kind=TargetKind.LOCAL,
                                           docker_socket=env.docker.host)))
    folder = tmp_path / "by-hand"
    folder.mkdir()
    (folder / "compose.yaml").write_text(APP)
    compose_up(env.docker, folder, "viewx", tmp_path)
    try:
        _sign_in_as(env, qtbot, "vic", Role.VIEWER)
        page = _open(env, qtbot)
        assert page.unmanaged is not None
        assert env.adopt.unmanaged is not None and env.adopt.unmanaged.project("viewx")
        assert page.unmanaged.tree.topLevelItemCount() >= 1
        assert not page.unmanaged.adopt_button.isVisibleTo(page)
        page.unmanaged.tree.setCurrentItem(page.unmanaged.tree.topLevelItem(0))
        assert page.unmanaged.open_adopt() is None
    finally:
        remove(env.docker, "viewx")


def test_files_gone_the_dialog_offers_the_engine_view(qtbot: QtBot, env: Env,
                                                      tmp_path: Path) -> None:
    env.ws.run(env.targets.save(TargetSpec(name="laptop", kind=TargetKind.LOCAL,
                                           docker_socket=env.docker.host)))
    folder = tmp_path / "gone"
    folder.mkdir()
    (folder / "compose.yaml").write_text(APP.replace('"${DB_PASSWORD}"', "x"))
    compose_up(env.docker, folder, "gonegui", tmp_path)
    (folder / "compose.yaml").unlink()
    try:
        page = _open(env, qtbot)  # alice, the owner
        panel = page.unmanaged
        assert panel is not None
        head = next(panel.tree.topLevelItem(i) for i in range(panel.tree.topLevelItemCount())
                    if panel.tree.topLevelItem(i).text(0).startswith("gonegui"))
        panel.tree.setCurrentItem(head)
        dialog = panel.open_adopt()
        assert dialog is not None and dialog.from_files.isChecked()
        dialog.submit_button.click()
        qtbot.waitUntil(lambda: "is gone" in dialog.message_bar.text(), timeout=WAIT_MS)
        assert dialog.isVisible() and dialog.from_engine.isChecked()  # the way out, chosen
        assert not panel.messages.isVisibleTo(page)  # said once, in the dialog
        dialog.grab().save(str(SHOT / "adopt-dialog-files-gone.png"))
        with qtbot.waitSignal(env.adopt.sig_adopted, timeout=WAIT_MS) as adopted:
            dialog.submit_button.click()
        assert adopted.args is not None and adopted.args[0].source.value == "engine"
    finally:
        remove(env.docker, "gonegui")
