"""The whole app (``WindFlowApp``) on a SQLite workspace and the test dockerd, driven as a
person drives it: the first-run dialog, the Stacks page's Deploy… button and the deploy
dialog, the Deployments page's rows and buttons, the confirmation boxes.

Setting the scene (a target, a stack and its revisions) goes through the stores: the
tests that use this module look at what happens after, through the widgets.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from tests.env.docker import DockerEngine
from tests.env.keyring_backend import MemoryKeyring
from tests.support.app import dialog_of
from tests.support.auth_dialogs import click, fill_first_run
from tests.support.deploy import compose_v2_config
from windflow_desktop.app import WindFlowApp
from windflow_desktop.config import load_settings
from windflow_desktop.domain.enums import DeploymentStatus, TargetKind
from windflow_desktop.domain.models import Deployment, Stack, Target
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.ui.dialogs.deploy_stack import DeployDialog
from windflow_desktop.ui.dialogs.first_run import FirstRunDialog
from windflow_desktop.ui.main_window import MainWindow
from windflow_desktop.ui.views.containers import ContainersPage
from windflow_desktop.ui.views.deployments import DeploymentsPage
from windflow_desktop.ui.views.stacks import StacksPage

WAIT_MS = 60_000
WEB = """\
services:
  web:
    image: localhost/busybox
    command:
      - sh
      - -c
      - mkdir -p /www && echo "$$GREETING" > /www/index.html && exec httpd -f -p 8080 -h /www
    environment:
      GREETING: "${GREETING}"
      API_TOKEN: "${API_TOKEN}"
    ports: ["127.0.0.1:${WEB_PORT}:8080"]
    stop_signal: SIGKILL
"""
BROKEN = WEB.replace('exec httpd -f -p 8080 -h /www', 'echo cannot start >&2; exit 3')
VARIABLES = [{"name": "WEB_PORT", "required": True}, {"name": "GREETING", "required": True},
             {"name": "API_TOKEN", "secret": True}]


@dataclass
class Desk:
    """The running app, signed in as the owner of "Acme Ops"."""

    app: WindFlowApp
    window: MainWindow
    qtbot: QtBot
    projects: set[str]  # the compose projects deployed (removed from the engine after)

    def done(self, task: asyncio.Task[Any]) -> Any:
        self.qtbot.waitUntil(task.done, timeout=WAIT_MS)
        return task.result()

    @property
    def deployments_page(self) -> DeploymentsPage:
        page = self.window.page("deployments")
        assert isinstance(page, DeploymentsPage)
        return page

    @property
    def containers_page(self) -> ContainersPage:
        page = self.window.page("containers")
        assert isinstance(page, ContainersPage)
        return page

    @property
    def stacks_page(self) -> StacksPage:
        page = self.window.page("stacks")
        assert isinstance(page, StacksPage)
        return page

    def add_local_target(self, engine: DockerEngine, name: str = "build box") -> Target:
        return self.add_local_target_at(engine.host, name)

    def add_local_target_at(self, socket: str, name: str = "build box") -> Target:
        targets = self.window.page("targets").store  # type: ignore[union-attr]
        target = self.done(targets.save(TargetSpec(name=name, kind=TargetKind.LOCAL,
                                                   docker_socket=socket)))
        assert target is not None
        return target  # type: ignore[no-any-return]

    def create_stack(self, name: str = "Hello web", yaml: str = WEB) -> Stack:
        stacks = self.stacks_page.store
        stack = self.done(stacks.create(name=name, compose_yaml=yaml, variables=VARIABLES,
                                        message="first"))
        assert stack is not None
        return stack  # type: ignore[no-any-return]

    def save_revision(self, yaml: str, message: str) -> None:
        self.done(self.stacks_page.store.save(compose_yaml=yaml, variables=VARIABLES,
                                              message=message))

    def open_deploy_dialog(self, stack: Stack) -> DeployDialog:
        """Stacks page → the stack → Deploy…"""
        self.window.show_page("stacks")
        page = self.stacks_page
        page.select_stack(stack.id)
        self.qtbot.waitUntil(lambda: page.store.revision is not None and
                             page.store.revision.stack_id == stack.id and
                             page.deploy_button.isEnabled(), timeout=WAIT_MS)
        click(self.qtbot, page.deploy_button)
        self.qtbot.waitUntil(lambda: dialog_of(DeployDialog) is not None, timeout=WAIT_MS)
        dialog: DeployDialog = dialog_of(DeployDialog)
        return dialog

    def listed_targets(self, dialog: DeployDialog) -> list[str]:
        """The names the dialog's target list shows."""
        return [dialog.targets.item(i).text().split(" — ")[0]  # "name — kind, status"
                for i in range(dialog.targets.count())]

    def check_target(self, dialog: DeployDialog, target: Target) -> None:
        def listed() -> bool:
            return any(dialog.targets.item(i).data(Qt.ItemDataRole.UserRole) == target.id
                       for i in range(dialog.targets.count()))

        self.qtbot.waitUntil(listed, timeout=WAIT_MS)
        for i in range(dialog.targets.count()):
            item = dialog.targets.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == target.id:
                item.setCheckState(Qt.CheckState.Checked)

    def deploy(self, dialog: DeployDialog, **values: str) -> Deployment:
        """Type ``values`` into their fields, press Deploy; the new row, once listed."""
        for name, value in values.items():  # typed: what a person types stays typed
            edit = dialog.fields[name]
            edit.selectAll()
            self.qtbot.keyClicks(edit, value)
        store = self.deployments_page.store
        before = {d.id for d in store.rows}
        click(self.qtbot, dialog.deploy_button)
        self.qtbot.waitUntil(lambda: any(d.id not in before for d in store.rows),
                             timeout=WAIT_MS)
        [dep] = [d for d in store.rows if d.id not in before]
        self.projects.add(dep.project_name)
        return dep

    def row(self, dep_id: Any) -> Deployment:
        model = self.deployments_page.model
        position = model.position(dep_id)
        assert position is not None
        return model.row(position)

    def status_shown(self, dep_id: Any) -> str:
        model = self.deployments_page.model
        position = model.position(dep_id)
        assert position is not None
        return str(model.index(position, 0).data())

    def wait_status(self, dep_id: Any, status: DeploymentStatus) -> Deployment:
        self.qtbot.waitUntil(lambda: self.deployments_page.model.position(dep_id) is not None
                             and self.row(dep_id).status is status, timeout=WAIT_MS)
        return self.row(dep_id)

    def select(self, dep_id: Any) -> None:
        """Click the deployment's row; wait for its detail (title and buttons)."""
        page = self.deployments_page
        self.window.show_page("deployments")
        position = page.model.position(dep_id)
        assert position is not None
        index = page.proxy.mapFromSource(page.model.index(position, 0))
        rect = page.table.visualRect(index)
        self.qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        self.qtbot.waitUntil(lambda: page.store.detail is not None and
                             page.store.detail.id == dep_id and
                             "select" not in page.store._actions, timeout=WAIT_MS)

    def question(self) -> QMessageBox:
        """The box that asks (open, not blocking: the test goes on while it shows)."""
        def box() -> QMessageBox | None:
            found = [w for w in QApplication.topLevelWidgets()
                     if isinstance(w, QMessageBox) and w.isVisible()]
            return found[0] if found else None

        self.qtbot.waitUntil(lambda: box() is not None, timeout=10_000)
        found = box()
        assert found is not None
        return found

    def enabled_buttons(self) -> set[str]:
        return {a for a, b in self.deployments_page.buttons.items() if b.isEnabled()}


@contextmanager
def answering_boxes(qtbot: QtBot) -> Iterator[list[str]]:
    """Accept every confirmation box that shows while inside (blocking ``exec()`` or
    non-blocking ``open()`` alike): its accepting button is clicked. Yields their texts."""
    seen: list[str] = []

    def answer() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QMessageBox) and widget.isVisible():
                seen.append(widget.text())
                accept = [b for b in widget.buttons()
                          if widget.buttonRole(b) in (QMessageBox.ButtonRole.AcceptRole,
                                                      QMessageBox.ButtonRole.YesRole,
                                                      QMessageBox.ButtonRole.DestructiveRole)]
                (accept[0] if accept else widget.button(
                    QMessageBox.StandardButton.Ok)).click()

    timer = QTimer()
    timer.setInterval(50)
    timer.timeout.connect(answer)
    timer.start()
    try:
        yield seen
    finally:
        timer.stop()


@contextmanager
def running_app(qtbot: QtBot, qloop: Any, tmp_path: Path, engine: DockerEngine,
                monkeypatch: pytest.MonkeyPatch, keyring: MemoryKeyring | None = None
                ) -> Iterator[Desk]:
    """The app on the workspace in ``tmp_path``, signed in: through the first-run dialog
    (with "remember me") on the first start, by the remembered session on a later one
    (pass the same ``keyring``); the window shown. Quits on the way out."""
    monkeypatch.setenv("DOCKER_CONFIG", str(compose_v2_config(tmp_path)))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir(exist_ok=True)
    settings = load_settings({"WINDFLOW_HOME": str(tmp_path / "wf")})
    app = WindFlowApp(settings, started=time.monotonic(),
                      secrets=SecretStore(keyring if keyring is not None else MemoryKeyring()))
    running = qloop.create_task(app.run())
    projects: set[str] = set()
    try:
        qtbot.waitUntil(lambda: dialog_of(FirstRunDialog) is not None or (
            app.session is not None and app.session.signed_in), timeout=WAIT_MS)
        first_run = dialog_of(FirstRunDialog)
        if first_run is not None:
            fill_first_run(qtbot, first_run)
            click(qtbot, first_run.remember)
            click(qtbot, first_run.submit_button)
        qtbot.waitUntil(lambda: app.session.signed_in and app.window is not None,
                        timeout=WAIT_MS)
        window = app.window
        assert window is not None
        yield Desk(app, window, qtbot, projects)
    finally:
        app.quit_requested.set()
        qtbot.waitUntil(running.done, timeout=WAIT_MS)
        for project in projects:
            remove_project(engine, project)
    assert running.result() == 0


def remove_project(engine: DockerEngine, project: str) -> None:
    """Take a compose project's containers and networks off the shared test engine."""
    label = f"label=com.docker.compose.project={project}"
    containers = engine.cli("ps", "-aq", "--filter", label).split()
    if containers:
        engine.cli("rm", "-f", *containers, check=False)
    networks = engine.cli("network", "ls", "-q", "--filter", label).split()
    if networks:
        engine.cli("network", "rm", *networks, check=False)
