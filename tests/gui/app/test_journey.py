"""The journey a new user takes, against a real Docker engine, through the whole app
(``WindFlowApp``) and only through its widgets — mouse and keyboard, never a store
action: the first-run dialog → the target wizard (This computer, pointed at the test
dockerd: test, save and scan, Finish) → Test on the Targets page → the stack editor
(name, the Compose file typed in, Save) → the deploy dialog (the target ticked, the port
typed, Preview, Deploy) → the Deployments page's Stop, Start and Remove (through its
confirmation). A defect in any dialog or page binding fails this test.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton, QWidget, QWizard
from pytestqt.qtbot import QtBot

from tests.env.docker import DockerEngine
from tests.env.keyring_backend import MemoryKeyring
from tests.env.services import free_port
from tests.support.deploy import compose_v2_config, http_get
from windflow_desktop.app import WindFlowApp
from windflow_desktop.config import load_settings
from windflow_desktop.domain.enums import DeploymentStatus, TargetKind, TargetStatus
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.stores.notifications import NotificationKind
from windflow_desktop.ui.dialogs.deploy_stack import DeployDialog
from windflow_desktop.ui.dialogs.first_run import FirstRunDialog
from windflow_desktop.ui.dialogs.target_wizard import TargetWizard
from windflow_desktop.ui.main_window import PAGES, MainWindow
from windflow_desktop.ui.views.dashboard import DashboardPage
from windflow_desktop.ui.views.deployments import REMOVE_BUTTON, DeploymentsPage
from windflow_desktop.ui.views.stacks import StacksPage
from windflow_desktop.ui.views.targets import TargetsPage

pytestmark = [pytest.mark.gui]

WAIT_MS = 60_000
STACK = """\
services:
  web:
    image: localhost/busybox
    command:
      - sh
      - -c
      - mkdir -p /www && echo "hello from the journey" > /www/index.html && exec httpd -f -p 8080 -h /www
    ports: ["127.0.0.1:${WEB_PORT}:8080"]
    stop_signal: SIGKILL
"""  # noqa: E501 (typed as one line, as a person would)


def containers(engine: DockerEngine, project: str, *, running_only: bool) -> list[str]:
    args = ["ps", "-q", "--filter", f"label=com.docker.compose.project={project}"]
    if not running_only:
        args.insert(1, "-a")
    return engine.cli(*args).split()


def visible(kind: type[QWidget]) -> Any:
    found = [w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()]
    return found[0] if found else None


def click(qtbot: QtBot, button: QWidget) -> None:
    assert button.isVisible() and button.isEnabled(), button.accessibleName()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def type_into(qtbot: QtBot, edit: QWidget, text: str) -> None:
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, text)


def type_lines(qtbot: QtBot, editor: QWidget, text: str) -> None:
    editor.setFocus()
    qtbot.keyClick(editor, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(editor, Qt.Key.Key_Delete)
    for line in text.splitlines():
        qtbot.keyClicks(editor, line)
        qtbot.keyClick(editor, Qt.Key.Key_Return)


def go(qtbot: QtBot, window: MainWindow, key: str) -> QWidget:
    """Click the page's entry in the sidebar."""
    row = [p.key for p in PAGES].index(key)
    rect = window.sidebar.visualItemRect(window.sidebar.item(row))
    qtbot.mouseClick(window.sidebar.viewport(), Qt.MouseButton.LeftButton,
                     pos=rect.center())
    qtbot.waitUntil(lambda: window.current_page_key() == key, timeout=WAIT_MS)
    page = window.page(key)
    assert page is not None
    return page


def fill_first_run(qtbot: QtBot, d: FirstRunDialog) -> None:
    for edit, text in ((d.username, "alice"), (d.email, "alice@example.test"),
                       (d.full_name, "Alice Martin"), (d.password, "correct horse battery"),
                       (d.confirm, "correct horse battery"), (d.organization, "Acme Ops")):
        type_into(qtbot, edit, text)


def test_first_run_to_deploy_stop_remove(qtbot: QtBot, qloop: Any, tmp_path: Path,
                                         docker_engine: DockerEngine,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # This computer's tools: Compose v2 as a CLI plugin; project folders under a test HOME.
    monkeypatch.setenv("DOCKER_CONFIG", str(compose_v2_config(tmp_path)))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    settings = load_settings({"WINDFLOW_HOME": str(tmp_path / "wf")})
    app = WindFlowApp(settings, started=time.monotonic(), secrets=SecretStore(MemoryKeyring()))
    running = qloop.create_task(app.run())
    try:
        # 1. first run: the owner and the organization
        qtbot.waitUntil(lambda: visible(FirstRunDialog) is not None, timeout=WAIT_MS)
        first_run = visible(FirstRunDialog)
        fill_first_run(qtbot, first_run)
        click(qtbot, first_run.submit_button)
        qtbot.waitUntil(lambda: app.session.signed_in, timeout=WAIT_MS)
        window = app.window
        assert window is not None and window.isVisible()
        dashboard = window.page("dashboard")
        assert isinstance(dashboard, DashboardPage)
        qtbot.waitUntil(lambda: dashboard.store.loaded, timeout=WAIT_MS)
        assert dashboard.online_card.value == "0 / 0"

        # 2. the target wizard: This computer (the first choice), its engine's socket
        targets_page = go(qtbot, window, "targets")
        assert isinstance(targets_page, TargetsPage)
        click(qtbot, targets_page.add_button)
        qtbot.waitUntil(lambda: visible(TargetWizard) is not None, timeout=WAIT_MS)
        wizard: TargetWizard = visible(TargetWizard)
        assert wizard.kind_page.buttons[TargetKind.LOCAL].isChecked()
        click(qtbot, wizard.button(QWizard.WizardButton.NextButton))
        form = wizard.connection_page
        type_into(qtbot, form.name, "this computer")
        type_into(qtbot, form.socket, docker_engine.host)
        click(qtbot, wizard.button(QWizard.WizardButton.NextButton))  # the test runs
        qtbot.waitUntil(wizard.test_page.isComplete, timeout=WAIT_MS)
        assert wizard.test_page.steps.states() == ["ok", "ok"], \
            wizard.test_page.summary.text()
        click(qtbot, wizard.button(QWizard.WizardButton.NextButton))  # save and scan
        qtbot.waitUntil(wizard.scan_page.isComplete, timeout=WAIT_MS)
        caps = wizard.scan_page.capabilities
        labels = {caps.topLevelItem(i).text(0) for i in range(caps.topLevelItemCount())}
        assert {"Docker engine", "Compose v2"} <= labels, labels
        click(qtbot, wizard.button(QWizard.WizardButton.FinishButton))
        qtbot.waitUntil(lambda: targets_page.selected() is not None, timeout=WAIT_MS)
        target = targets_page.selected()
        assert target is not None and target.name == "this computer"
        assert target.status is TargetStatus.ONLINE
        qtbot.waitUntil(lambda: dashboard.online_card.value == "1 / 1", timeout=WAIT_MS)

        # 3. Test on the Targets page, after the wizard has gone
        click(qtbot, targets_page.test_button)
        qtbot.waitUntil(lambda: targets_page.test_summary.text().startswith("Connected"),
                        timeout=WAIT_MS)
        assert targets_page.steps.states() == ["ok", "ok"]

        # 4. the stack editor: a name, the Compose file typed in, Save
        stacks_page = go(qtbot, window, "stacks")
        assert isinstance(stacks_page, StacksPage)
        click(qtbot, stacks_page.new_button)
        type_into(qtbot, stacks_page.name_edit, "Hello web")
        type_into(qtbot, stacks_page.tags_edit, "demo")
        type_lines(qtbot, stacks_page.editor, STACK)
        qtbot.waitUntil(lambda: stacks_page.validation_label.text().startswith("✔ Valid"),
                        timeout=WAIT_MS)
        assert "1 service (web), 1 variable used" in stacks_page.validation_label.text()
        click(qtbot, stacks_page.save_button)
        qtbot.waitUntil(lambda: stacks_page.store.selected is not None and
                        stacks_page.store.revision is not None, timeout=WAIT_MS)
        stack = stacks_page.store.selected
        assert stack is not None and stack.name == "Hello web" and stack.tags == ["demo"]

        # 5. the deploy dialog: tick the target, type the port, preview, Deploy
        notifications = app.shell.tray.store
        notified: list[Any] = []
        notifications.sig_notified.connect(notified.append)
        click(qtbot, stacks_page.deploy_button)
        qtbot.waitUntil(lambda: visible(DeployDialog) is not None, timeout=WAIT_MS)
        dialog: DeployDialog = visible(DeployDialog)
        qtbot.waitUntil(lambda: dialog.targets.count() == 1, timeout=WAIT_MS)
        item = dialog.targets.item(0)
        assert item.text() == "this computer — This computer, online"
        item.setCheckState(Qt.CheckState.Checked)  # the row's check box
        assert "`" not in dialog.preflight.text()
        port = free_port()
        type_into(qtbot, dialog.fields["WEB_PORT"], str(port))
        click(qtbot, dialog.preview_button)
        qtbot.waitUntil(lambda: "services:" in dialog.preview_text.toPlainText(),
                        timeout=WAIT_MS)
        assert "name: wf-hello-web-" in dialog.preview_text.toPlainText()
        assert "preview-" not in dialog.preview_text.toPlainText()
        click(qtbot, dialog.deploy_button)
        qtbot.waitUntil(lambda: visible(DeployDialog) is None, timeout=WAIT_MS)

        # 6. the Deployments page: the row runs to succeeded, the page is live
        deployments_page = go(qtbot, window, "deployments")
        assert isinstance(deployments_page, DeploymentsPage)
        model = deployments_page.model
        qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=WAIT_MS)
        deployments_page.table.selectRow(0)

        def status() -> DeploymentStatus:
            return model.row(0).status

        qtbot.waitUntil(lambda: status().is_terminal, timeout=WAIT_MS)
        dep = model.row(0)
        assert status() is DeploymentStatus.SUCCEEDED, dep.error
        assert http_get(port) == "hello from the journey"
        log = deployments_page.log
        qtbot.waitUntil(lambda: "Deployment succeeded" in log.toPlainText(), timeout=WAIT_MS)
        assert "compose config: 1 service (web)" in log.toPlainText()
        revision = [model.headerData(c, Qt.Orientation.Horizontal)
                    for c in range(model.columnCount())].index("Revision")
        assert model.index(0, revision).data() == "#1"
        qtbot.waitUntil(lambda: any(n.kind is NotificationKind.DEPLOYMENT_SUCCEEDED
                                    and n.aggregate_id == str(dep.id) for n in notified),
                        timeout=WAIT_MS)
        qtbot.waitUntil(lambda: dashboard.deployments_model.rowCount() == 1 and
                        dashboard.deployments_model.row(0).status is DeploymentStatus.SUCCEEDED,
                        timeout=WAIT_MS)
        project = dep.project_name
        assert len(containers(docker_engine, project, running_only=True)) == 1

        buttons = deployments_page.buttons
        # 7. Stop, then Start, with the page's buttons
        qtbot.waitUntil(buttons["stop"].isEnabled, timeout=WAIT_MS)
        click(qtbot, buttons["stop"])
        qtbot.waitUntil(lambda: status() is DeploymentStatus.STOPPED, timeout=WAIT_MS)
        assert containers(docker_engine, project, running_only=True) == []
        qtbot.waitUntil(buttons["start"].isEnabled, timeout=WAIT_MS)
        click(qtbot, buttons["start"])
        qtbot.waitUntil(lambda: status() is DeploymentStatus.SUCCEEDED, timeout=WAIT_MS)
        assert len(containers(docker_engine, project, running_only=True)) == 1
        qtbot.waitUntil(lambda: "start: succeeded" in deployments_page.stepper.history.text(),
                        timeout=WAIT_MS)

        # 8. Remove… asks first (Cancel is the default); the named button takes it down
        qtbot.waitUntil(buttons["remove"].isEnabled, timeout=WAIT_MS)
        click(qtbot, buttons["remove"])
        box = deployments_page.confirm_box
        assert isinstance(box, QMessageBox)
        qtbot.waitUntil(box.isVisible, timeout=WAIT_MS)
        assert box.defaultButton().text() != REMOVE_BUTTON
        confirm = next(b for b in box.buttons() if b.text() == REMOVE_BUTTON)
        assert isinstance(confirm, QPushButton)
        click(qtbot, confirm)
        qtbot.waitUntil(lambda: status() is DeploymentStatus.REMOVED, timeout=WAIT_MS)
        assert containers(docker_engine, project, running_only=False) == []
        qtbot.waitUntil(lambda: dashboard.deployments_model.row(0).status
                        is DeploymentStatus.REMOVED, timeout=WAIT_MS)
    finally:
        app.quit_requested.set()
        qtbot.waitUntil(running.done, timeout=WAIT_MS)
    assert running.result() == 0
