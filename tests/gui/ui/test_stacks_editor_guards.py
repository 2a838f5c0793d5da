"""The Stacks page over the real StackService (SQLite): a revision reaching into its host
shows named warnings, the "needs host access" box under the editor stores the stack's
flag, a file nested 10,000 deep is an issue in the list, not a crash; and choosing a
generator ticks Secret (unticked afterwards, the spec says ``secret: false``)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox
from pytestqt.qtbot import QtBot

from tests.support.auth import PASSWORD
from tests.support.qt import Workspace
from windflow_desktop.stores.stacks import StacksStore
from windflow_desktop.ui.views.stacks import StacksPage
from windflow_desktop.ui.widgets.variables_table import VariablesTable

WAIT_MS = 15_000
HOST = "services:\n  agent:\n    image: localhost/busybox\n    privileged: true\n"


def test_host_access_warnings_and_the_flag(qtbot: QtBot, workspace: Workspace,
                                           stacks: StacksStore) -> None:
    ws = workspace
    page = StacksPage(stacks)
    qtbot.addWidget(page)
    page.show()
    ws.run(ws.session.login("alice", PASSWORD))
    p = ws.session.principal
    assert p is not None
    stack, _ = ws.run(stacks._service.create_stack(p, name="Agent", compose_yaml=HOST))
    ws.run(stacks.load())
    assert not page.host_access.isEnabled()  # nothing chosen
    page.table.selectRow(0)
    qtbot.waitUntil(lambda: page.issues.count() > 0, timeout=WAIT_MS)
    assert "needs host access: privileged" in page.issues.item(0).text()
    assert page.host_access.isEnabled() and not page.host_access.isChecked()

    page.host_access.click()
    qtbot.waitUntil(lambda: stacks.selected is not None and stacks.selected.host_access,
                    timeout=WAIT_MS)
    assert ws.run(stacks._service.get_stack(p, stack.id)).host_access  # stored
    assert page.host_access.isChecked()
    page.host_access.click()
    qtbot.waitUntil(lambda: stacks.selected is not None and not stacks.selected.host_access,
                    timeout=WAIT_MS)

    page.editor.setPlainText("[" * 10_000)  # the validator, not a RecursionError
    qtbot.waitUntil(lambda: page.issues.count() > 0
                    and "nest" in page.issues.item(0).text(), timeout=WAIT_MS)
    assert not page.save_button.isEnabled()
    ws.run(stacks.shutdown())


def test_choosing_a_generator_ticks_secret(qtbot: QtBot) -> None:
    table = VariablesTable()
    qtbot.addWidget(table)
    table.set_spec([{"name": "KEPT", "generator": "uuid", "secret": False}])
    table.add_variable({"name": "PW"})
    combo = table.cellWidget(1, 5)
    assert isinstance(combo, QComboBox)
    combo.setCurrentText("password")
    assert table.spec() == [{"name": "KEPT", "secret": False, "generator": "uuid"},
                            {"name": "PW", "secret": True, "generator": "password"}]
    table.item(1, 4).setCheckState(Qt.CheckState.Unchecked)  # the user says: not secret
    assert table.spec()[1] == {"name": "PW", "generator": "password", "secret": False}


def test_choosing_a_generator_leaves_secret_alone_on_a_row_with_a_default(qtbot: QtBot) -> None:
    table = VariablesTable()
    qtbot.addWidget(table)
    table.add_variable({"name": "PORT", "default": "8080"})
    combo = table.cellWidget(0, 5)
    assert isinstance(combo, QComboBox)
    combo.setCurrentText("password")
    # A default is never secret: ticking Secret here would make Save refuse the spec.
    assert table.item(0, 4).checkState() == Qt.CheckState.Unchecked
