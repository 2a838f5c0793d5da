"""The target wizard's last frictions, through the widgets over the real services, sshd
and dockerd: "This computer" is the first choice while no local target exists; Browse…
fills the key file; the SSH step's time leaves out the time the host-key box was open;
the Save and scan page shows capabilities as the Targets page does (labels, GB, whole
versions); once saved there is no Cancel; Finish selects the new target."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWizard
from pytestqt.qtbot import QtBot

from tests.env.docker import DockerEngine
from tests.env.sshd import SshServer
from tests.support.qt import Workspace
from tests.support.targets_store import alices_targets
from windflow_desktop.domain.enums import TargetAuth, TargetKind, TargetStatus
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.stores.targets import TargetsStore
from windflow_desktop.ui.dialogs.target_hostkey import HostKeyAnswers
from windflow_desktop.ui.views.targets import TargetsPage

WAIT_MS = 30_000
HOST_KEY_OPEN_MS = 3000  # how long the person reads the fingerprint (well over a handshake)


@dataclass
class World:
    ws: Workspace
    targets: TargetsStore
    page: TargetsPage
    sshd: SshServer
    host_keys: HostKeyAnswers


@pytest.fixture
def world(qtbot: QtBot, workspace: Workspace, tmp_path: Path, docker_engine: DockerEngine,
          sshd_server: SshServer) -> Iterator[World]:
    targets, pool, host_keys = alices_targets(workspace, tmp_path)
    page = TargetsPage(targets)
    answers = HostKeyAnswers(host_keys, page)  # the shell does this over the main window
    qtbot.addWidget(page)
    page.resize(1180, 700)
    page.show()
    try:
        yield World(workspace, targets, page, sshd_server, answers)
    finally:
        workspace.run(targets.shutdown())
        workspace.run(pool.close())


def test_wizard_from_kind_to_finish(qtbot: QtBot, world: World) -> None:
    page, sshd = world.page, world.sshd
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    wizard = page._wizard
    assert wizard is not None
    qtbot.waitUntil(wizard.isVisible)
    # no local target yet: "This computer" is chosen
    assert wizard.kind_page.buttons[TargetKind.LOCAL].isChecked()
    wizard.kind_page.buttons[TargetKind.SSH].click()
    wizard.next()
    form = wizard.connection_page
    qtbot.keyClicks(form.name, "db-1")
    qtbot.keyClicks(form.host, "127.0.0.1")
    form.port.setValue(sshd.port)
    qtbot.keyClicks(form.username, sshd.user)
    form.auth.setCurrentIndex(form.auth.findData(TargetAuth.KEY))
    # Browse… next to the key file: a non-blocking chooser fills the field
    browse = form.browse_rows[form.key_file].findChild(type(page.add_button))
    assert browse is not None and browse.isVisible() and browse.text() == "Browse…"
    qtbot.mouseClick(browse, Qt.MouseButton.LeftButton)
    chooser = form.browse_dialog
    assert chooser is not None
    qtbot.waitUntil(chooser.isVisible)
    chooser.selectFile(str(sshd.client_key))
    chooser.accept()
    assert form.key_file.text() == str(sshd.client_key)
    for row in (form.ca_file, form.cert_file, form.client_key):
        assert not form.browse_rows[row].isVisible()

    wizard.next()  # the test starts and asks about the host key; the person reads it
    qtbot.waitUntil(lambda: bool(world.host_keys.boxes), timeout=WAIT_MS)
    qtbot.wait(HOST_KEY_OPEN_MS)
    world.host_keys.boxes[-1].button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(wizard.test_page.isComplete, timeout=WAIT_MS)
    steps = wizard.test_page.steps
    times = {steps.topLevelItem(i).text(1): steps.topLevelItem(i).text(2)
             for i in range(steps.topLevelItemCount())}
    ssh_ms = float(times["SSH handshake and sign-in"].split()[0])
    assert ssh_ms < HOST_KEY_OPEN_MS, times  # the box's time is not the handshake's

    wizard.next()  # save and scan
    scan = wizard.scan_page
    qtbot.waitUntil(scan.isComplete, timeout=WAIT_MS)
    caps = scan.capabilities
    rows = {caps.topLevelItem(i).text(0): caps.topLevelItem(i)
            for i in range(caps.topLevelItemCount())}
    assert {"Docker engine", "Compose v2", "Operating system", "Memory"} <= set(rows), rows
    memory = rows["Memory"].text(2)
    assert "GB" in memory and "_bytes" not in memory and "total_bytes" not in memory
    version = rows["Docker engine"].text(1)
    width = caps.fontMetrics().horizontalAdvance(version)
    assert caps.columnWidth(1) >= width, (caps.columnWidth(1), version)  # not clipped
    # saved: Cancel would not undo it, only Finish is offered
    assert not wizard.button(QWizard.WizardButton.CancelButton).isVisible()
    saved = scan.saved
    assert saved is not None
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.FinishButton),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.selected() is not None, timeout=WAIT_MS)
    selected = page.selected()
    assert selected is not None and selected.id == saved.id
    assert selected.status is TargetStatus.ONLINE


def test_empty_targets_table_points_at_add_target(qtbot: QtBot, world: World) -> None:
    page = world.page
    empty = page.empty_state
    qtbot.waitUntil(empty.isVisible, timeout=WAIT_MS)
    assert empty.button.text() == "Add target…" and "No targets yet" in empty.label.text()
    qtbot.mouseClick(empty.button, Qt.MouseButton.LeftButton)
    wizard = page._wizard
    assert wizard is not None
    qtbot.waitUntil(wizard.isVisible, timeout=WAIT_MS)
    wizard.reject()
    # a target in the list: the hint goes; a filter that hides every row does not bring
    # it back (the list is not empty, only filtered)
    world.ws.run(world.targets.save(TargetSpec(name="laptop", kind=TargetKind.LOCAL)))
    qtbot.waitUntil(lambda: not empty.isVisible(), timeout=WAIT_MS)
    page.filter.setText("nothing matches this")
    assert page.proxy.rowCount() == 0 and not empty.isVisible()
