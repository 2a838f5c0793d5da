"""Polish shared by every list page (Targets, Stacks, Deployments, Containers, Users) over
a real workspace: Ctrl+F focuses the page's filter and F5 reloads it, column widths and
sort order survive a new page instance (the window's QSettings), every actionable widget
and context menu has an accessible name, and Delete asks before it deletes. The
Containers page lists a real Docker engine's containers."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QTableView,
    QTreeView,
    QWidget,
)

from tests.env.docker import BUSYBOX_IMAGE, DockerEngine
from tests.support import a11y
from tests.support.auth import PASSWORD, add_member
from tests.support.qt import Workspace
from windflow_desktop.domain.enums import (
    DeploymentStage,
    DeploymentStatus,
    Role,
    TargetKind,
    TargetStatus,
)
from windflow_desktop.domain.errors import TargetUnreachableError
from windflow_desktop.domain.models import Deployment, Target, utcnow
from windflow_desktop.engine.pool import ExecutorPool
from windflow_desktop.engine.ssh import KnownHosts
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.containers import ContainerService
from windflow_desktop.services.deploy.core import DeploymentCore
from windflow_desktop.services.deployments import DeploymentService
from windflow_desktop.services.stacks import StackService
from windflow_desktop.services.targets import TargetService
from windflow_desktop.stores.containers import ContainersStore
from windflow_desktop.stores.deployments import DeploymentsStore
from windflow_desktop.stores.stacks import StacksStore
from windflow_desktop.stores.targets import TargetsStore
from windflow_desktop.ui.views.containers import ContainersPage
from windflow_desktop.ui.views.deployments import DeploymentsPage
from windflow_desktop.ui.views.stacks import StacksPage
from windflow_desktop.ui.views.targets import TargetsPage
from windflow_desktop.ui.views.users import UsersPage

pytestmark = pytest.mark.gui

WAIT_MS = 15_000
GOOD = "services:\n  web:\n    image: localhost/busybox\n"
PAGES = ("targets", "stacks", "deployments", "containers", "users")


class _Unreachable:
    """Every target is out of reach: a lifecycle action fails with an expected error."""

    async def executor(self, target: Target) -> object:
        raise TargetUnreachableError(f"{target.name} cannot be reached")


@dataclass
class Env:
    ws: Workspace
    settings_path: Path
    targets: TargetsStore
    stacks: StacksStore
    deployments: DeploymentsStore
    containers: ContainersStore
    local: Target
    container_id: str

    def settings(self) -> QSettings:
        return QSettings(str(self.settings_path), QSettings.Format.IniFormat)


@pytest.fixture
def env(workspace: Workspace, tmp_path: Path, docker_engine: DockerEngine) -> Iterator[Env]:
    ws, svc = workspace, workspace.services
    ws.run(ws.session.setup(username="alice", email="alice@example.test", password=PASSWORD,
                          organization_name="Acme"))
    p = ws.session.principal
    assert p is not None and p.organization_id is not None
    org = p.organization_id
    ws.run(add_member(svc.backend, org, "bob", Role.OPERATOR))
    ctx = ServiceContext(svc.backend, svc.bus, clock=svc.clock)
    stack_service = StackService(ctx)
    created = [ws.run(stack_service.create_stack(p, name=name, compose_yaml=GOOD))
               for name in ("Web", "Monitoring")]
    stack, rev = created[0]

    async def fill() -> Target:
        async with svc.backend.unit_of_work() as uow:
            local = await uow.targets.add(Target(
                organization_id=org, name="laptop", kind=TargetKind.LOCAL,
                docker_socket=docker_engine.host, status=TargetStatus.ONLINE))
            await uow.targets.add(Target(
                organization_id=org, name="edge-paris", kind=TargetKind.SSH,
                host="edge-paris.acme.example", username="deploy", port=22,
                status=TargetStatus.OFFLINE))
            start = utcnow() - timedelta(hours=1)
            for i, status in enumerate((DeploymentStatus.SUCCEEDED, DeploymentStatus.FAILED,
                                        DeploymentStatus.SUCCEEDED)):
                await uow.deployments.add(Deployment(
                    organization_id=org, stack_id=stack.id, revision_id=rev.id,
                    target_id=local.id, project_name=f"wf-web-{i}", status=status,
                    stage=DeploymentStage.DONE, created_at=start + timedelta(minutes=i)))
            await uow.commit()
            return local

    local = ws.run(fill())
    pool = ExecutorPool(KnownHosts(tmp_path / "known_hosts"), svc.secrets.aget)
    targets = TargetsStore(TargetService(ctx, svc.secrets, pool), ws.session)
    stacks = StacksStore(ws.session, stack_service)
    core = DeploymentCore(svc.backend, svc.bus, _Unreachable(), svc.secrets)  # type: ignore[arg-type]
    deployments = DeploymentsStore(ws.session, DeploymentService(ctx, core, svc.secrets),
                                   lambda _p: targets_list(targets))
    containers = ContainersStore(ContainerService(ctx, pool, svc.secrets), ws.session)
    container_id = docker_engine.cli(
        "run", "-d", "--network", "none", "--stop-signal", "SIGKILL",
        "--label", "com.docker.compose.project=polish",
        "--label", "com.docker.compose.service=web", BUSYBOX_IMAGE, "sleep", "600").strip()
    for store in (targets, stacks, deployments):
        ws.run(store.load())
    ws.run(ws.users.load())
    try:
        yield Env(ws, tmp_path / "ui.ini", targets, stacks, deployments, containers, local,
                  container_id)
    finally:
        docker_engine.cli("rm", "-f", container_id, check=False)
        for s in (containers, deployments, stacks, targets):
            ws.run(s.shutdown())
        ws.run(pool.close())


async def targets_list(store: TargetsStore) -> list[Target]:
    return list(store.targets)


def build(env: Env, key: str, settings: QSettings | None = None) -> QWidget:
    settings = settings if settings is not None else env.settings()
    if key == "targets":
        return TargetsPage(env.targets, settings)
    if key == "stacks":
        return StacksPage(env.stacks, settings)
    if key == "deployments":
        return DeploymentsPage(env.deployments, ui_settings=settings)
    if key == "containers":
        page = ContainersPage(env.containers, env.targets, settings)
        page.select_target(env.local.id)
        return page
    return UsersPage(env.ws.users, settings)


def show(qtbot: Any, page: QWidget) -> QWidget:
    qtbot.addWidget(page)
    page.resize(1200, 700)
    page.show()
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow, timeout=3000)
    return page


def view_of(page: Any) -> QTableView | QTreeView:
    view = page.tree if isinstance(page, ContainersPage) else page.table
    assert isinstance(view, QTableView | QTreeView)
    return view


def filter_of(page: Any) -> QLineEdit:
    edit = page.filter if isinstance(page, TargetsPage | ContainersPage) else page.search
    assert isinstance(edit, QLineEdit)
    return edit


def rows_loaded(env: Env, page: Any) -> Callable[[], bool]:
    view = view_of(page)
    if isinstance(page, ContainersPage):
        return lambda: any(c.id == env.container_id for c in env.containers.containers)
    return lambda: view.model().rowCount() >= 2


def reload_signal(env: Env, page: Any) -> Any:
    """The signal a reload of the page's store ends with."""
    if isinstance(page, TargetsPage):
        return env.targets.sig_changed
    if isinstance(page, StacksPage):
        return env.stacks.sig_rows_reset
    if isinstance(page, DeploymentsPage):
        return env.deployments.sig_rows_reset
    if isinstance(page, ContainersPage):
        return env.containers.sig_containers_changed
    return env.ws.users.sig_members_reset


@pytest.mark.parametrize("key", PAGES)
def test_ctrl_f_focuses_the_filter_and_f5_reloads(qtbot: Any, env: Env, key: str) -> None:
    page = show(qtbot, build(env, key))
    qtbot.waitUntil(rows_loaded(env, page), timeout=WAIT_MS)
    view = view_of(page)
    view.setFocus()
    qtbot.waitUntil(view.hasFocus, timeout=2000)
    qtbot.keyClick(view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert filter_of(page).hasFocus()
    with qtbot.waitSignal(reload_signal(env, page), timeout=WAIT_MS):
        qtbot.keyClick(filter_of(page), Qt.Key.Key_F5)


@pytest.mark.parametrize("key", PAGES)
def test_header_state_survives_a_new_page(qtbot: Any, env: Env, key: str) -> None:
    page = show(qtbot, build(env, key))
    view = view_of(page)
    header = view.horizontalHeader() if isinstance(view, QTableView) else view.header()
    header.resizeSection(1, 173)
    view.sortByColumn(1, Qt.SortOrder.DescendingOrder)
    page.hide()  # a page switch: the pending save happens now, not 400 ms later
    again = build(env, key, env.settings())
    qtbot.addWidget(again)
    view2 = view_of(again)
    header2 = view2.horizontalHeader() if isinstance(view2, QTableView) else view2.header()
    assert header2.sectionSize(1) == 173
    assert header2.sortIndicatorSection() == 1
    assert header2.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    if key != "containers":  # the rows really are in that order, not only the arrow
        qtbot.waitUntil(lambda: view2.model().rowCount() >= 2, timeout=WAIT_MS)
        column = [view2.model().index(r, 1).data() for r in range(view2.model().rowCount())]
        assert column == sorted(column, key=lambda v: str(v).lower(), reverse=True)


def actionable_widgets(root: QWidget) -> list[QWidget]:
    """Buttons, inputs, views and text areas we placed (not Qt's parts inside them)."""
    return a11y.actionable_widgets(root, (*a11y.ACTIONABLE, QPlainTextEdit))


@pytest.mark.parametrize("key", PAGES)
def test_every_actionable_widget_and_menu_has_an_accessible_name(
        qtbot: Any, env: Env, key: str) -> None:
    page: Any = show(qtbot, build(env, key))
    qtbot.waitUntil(rows_loaded(env, page), timeout=WAIT_MS)
    widgets = actionable_widgets(page)
    assert len(widgets) >= 5
    unnamed = [f"{type(w).__name__} {getattr(w, 'text', lambda: '')()!r}" for w in widgets
               if not w.accessibleName()]
    assert not unnamed, unnamed
    view = view_of(page)
    view.setCurrentIndex(first_row(view))
    menu = (page.build_context_menu(view.currentIndex().data(Qt.ItemDataRole.UserRole + 2))
            if isinstance(page, DeploymentsPage) else page.build_context_menu())
    assert isinstance(menu, QMenu) and menu.accessibleName()
    texts = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert len(texts) >= 2 and all(texts)
    assert "Refresh" in texts
    menu.close()


def first_row(view: QTableView | QTreeView) -> Any:
    model = view.model()
    if isinstance(view, QTreeView) and not isinstance(view, QTableView):
        return model.index(0, 0, model.index(0, 0))  # the first container of a project
    return model.index(0, 0)


class BoxAnswerer:
    """Answers the next message box (modal ``exec()`` or ``open()``), remembering it."""

    def __init__(self, confirm: bool) -> None:
        self.confirm = confirm
        self.text = ""
        self.timer = QTimer()
        self.timer.setInterval(20)
        self.timer.timeout.connect(self._look)
        self.timer.start()

    @property
    def answered(self) -> bool:
        return bool(self.text)

    def _look(self) -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QMessageBox) and widget.isVisible():
                self.timer.stop()
                self.text = widget.text() or "?"
                cancel = widget.button(QMessageBox.StandardButton.Cancel)
                yes = next(b for b in widget.buttons() if widget.buttonRole(b) in (
                    QMessageBox.ButtonRole.AcceptRole, QMessageBox.ButtonRole.DestructiveRole,
                    QMessageBox.ButtonRole.YesRole))
                (yes if self.confirm else cancel).click()
                return


def press_delete(qtbot: Any, view: QTableView | QTreeView, confirm: bool) -> BoxAnswerer:
    view.window().activateWindow()  # back from the previous box
    qtbot.waitUntil(view.isActiveWindow, timeout=3000)
    view.setFocus()
    qtbot.waitUntil(view.hasFocus, timeout=2000)
    answer = BoxAnswerer(confirm)
    qtbot.keyClick(view.viewport(), Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: answer.answered, timeout=5000)
    return answer


def test_delete_asks_first_on_every_page(qtbot: Any, env: Env) -> None:
    # Targets: Delete → "Delete edge-paris?" → Cancel keeps it, Delete again removes it.
    page: Any = show(qtbot, build(env, "targets"))
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=WAIT_MS)
    edge = next(t for t in env.targets.targets if t.name == "edge-paris")
    page.select(edge.id)
    asked = press_delete(qtbot, page.table, confirm=False)
    assert "edge-paris" in asked.text
    qtbot.wait(50)
    assert env.targets.target(edge.id) is not None
    press_delete(qtbot, page.table, confirm=True)
    qtbot.waitUntil(lambda: env.targets.target(edge.id) is None, timeout=WAIT_MS)
    assert page.model.position(edge.id) is None
    page.close()

    # Stacks: stacks are archived, not deleted — Delete asks, then archives.
    page = show(qtbot, build(env, "stacks"))
    qtbot.waitUntil(lambda: page.proxy.rowCount() == 2, timeout=WAIT_MS)
    page.table.selectRow(0)  # "Monitoring" (sorted by name)
    qtbot.waitUntil(lambda: env.stacks.selected is not None
                    and env.stacks.selected.name == "Monitoring", timeout=WAIT_MS)
    assert "Monitoring" in press_delete(qtbot, page.table, confirm=False).text
    qtbot.wait(50)
    assert [s.name for s in env.stacks.rows] == ["Monitoring", "Web"] or \
        {s.name for s in env.stacks.rows} == {"Monitoring", "Web"}
    press_delete(qtbot, page.table, confirm=True)
    qtbot.waitUntil(lambda: {s.name for s in env.stacks.rows} == {"Web"}, timeout=WAIT_MS)
    page.close()

    # Deployments: Delete asks (take the project down?); OK starts the removal, which
    # here fails on the unreachable target and says so.
    page = show(qtbot, build(env, "deployments"))
    qtbot.waitUntil(lambda: page.model.rowCount() == 3, timeout=WAIT_MS)
    page.table.selectRow(0)
    qtbot.waitUntil(lambda: env.deployments.detail is not None
                    and not env.deployments.busy, timeout=WAIT_MS)
    errors: list[str] = []
    env.deployments.sig_error.connect(lambda _c, m: errors.append(m))
    assert "wf-web-2" in press_delete(qtbot, page.table, confirm=False).text
    qtbot.wait(100)
    assert not env.deployments.busy and not errors
    press_delete(qtbot, page.table, confirm=True)
    qtbot.waitUntil(lambda: bool(errors), timeout=WAIT_MS)
    assert "cannot be reached" in errors[0]
    page.close()

    # Containers: Delete asks, then removes the container from the engine.
    page = show(qtbot, build(env, "containers"))
    qtbot.waitUntil(rows_loaded(env, page), timeout=WAIT_MS)
    page._reselect(env.container_id)
    assert page.selected() is not None and page.selected().id == env.container_id
    assert "Remove the container" in press_delete(qtbot, page.tree, confirm=False).text
    qtbot.wait(50)
    assert any(c.id == env.container_id for c in env.containers.containers)
    press_delete(qtbot, page.tree, confirm=True)
    qtbot.waitUntil(lambda: all(c.id != env.container_id for c in env.containers.containers),
                    timeout=WAIT_MS)
    page.close()

    # Users: Delete asks before removing the member from the organization.
    page = show(qtbot, build(env, "users"))
    users = env.ws.users
    bob = next(m for m in users.members if m.user.username == "bob")
    page.select_user(bob.user.id)
    assert "bob" in press_delete(qtbot, page.table, confirm=False).text
    qtbot.wait(50)
    assert any(m.user.id == bob.user.id for m in users.members)
    press_delete(qtbot, page.table, confirm=True)
    qtbot.waitUntil(lambda: all(m.user.id != bob.user.id for m in users.members),
                    timeout=WAIT_MS)


def test_delete_in_the_filter_box_edits_text(qtbot: Any, env: Env) -> None:
    """Delete belongs to the list: in the filter box it deletes a character."""
    page: Any = show(qtbot, build(env, "targets"))
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=WAIT_MS)
    page.table.selectRow(0)
    page.filter.setFocus()
    qtbot.waitUntil(page.filter.hasFocus, timeout=2000)
    qtbot.keyClicks(page.filter, "ab")
    qtbot.keyClick(page.filter, Qt.Key.Key_Home)
    qtbot.keyClick(page.filter, Qt.Key.Key_Delete)
    assert page.filter.text() == "b" and not page._boxes


def test_context_menu_delete_entry_asks_too(qtbot: Any, env: Env) -> None:
    page: Any = show(qtbot, build(env, "targets"))
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=WAIT_MS)
    page.table.selectRow(0)
    menu = page.build_context_menu()
    answer = BoxAnswerer(confirm=False)
    next(a for a in menu.actions() if a.text() == "Delete…").trigger()
    qtbot.waitUntil(lambda: answer.answered, timeout=5000)
    assert env.targets.targets and len(env.targets.targets) == 2
    assert uuid.UUID(int=0) not in {t.id for t in env.targets.targets}


def test_toast_wraps_and_elides_long_text_within_its_card(qtbot: Any) -> None:
    from windflow_desktop.stores.notifications import Notification, NotificationKind
    from windflow_desktop.ui.views.notifications import TOAST_WIDTH, Toast

    host = QWidget()
    qtbot.addWidget(host)
    host.resize(1000, 700)
    host.show()
    toast = Toast(host)
    long_message = ("Deployment 1955c586 failed: the app stopped during pull; this computer "
                    "could not be reached to check it (no Docker or Podman engine was found "
                    "on this computer (no DOCKER_HOST, no /var/run/docker.sock, no Podman "
                    "socket): install and start Docker, or set DOCKER_HOST) "
                    + "/very/long/path/without/spaces" * 8)
    n = Notification(kind=next(iter(NotificationKind)), title="Deployment failed " + "x" * 80,
                     message=long_message, aggregate_type="deployment", aggregate_id="d1")
    toast.show_notification(n)
    qtbot.waitUntil(toast.isVisible, timeout=2000)
    lines = toast.message.text().split("\n")
    assert len(lines) == 4 and lines[-1].endswith("…")
    metrics = toast.message.fontMetrics()
    assert all(metrics.horizontalAdvance(line) <= TOAST_WIDTH - 20 for line in lines)
    assert toast.title.text().endswith("…")
    assert toast.message.sizeHint().height() <= toast.message.height() + 1  # nothing clipped
    assert toast.height() <= 4 * metrics.lineSpacing() + 80 and toast.width() == TOAST_WIDTH
    assert long_message in toast.toolTip()
    assert toast.geometry().bottom() < host.height() and toast.geometry().right() < host.width()

    short = Notification(kind=next(iter(NotificationKind)), title="db-01 is offline",
                         message="Last seen 2 min ago", aggregate_type="target",
                         aggregate_id="t1")
    toast.show_notification(short)
    assert toast.title.text() == "db-01 is offline"
    assert toast.message.text() == "Last seen 2 min ago" and not toast.toolTip()
