"""The stack editor over the real StackService (SQLite): name, description and tags are
edited in the editor (no prompt at save) and the list's Tags column shows them; renaming
alone makes no new revision; the issues box shows only with issues; Diff and Restore
wait for a chosen revision."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog
from pytestqt.qtbot import QtBot

from tests.support.auth import PASSWORD
from tests.support.qt import Workspace
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.stacks import StackService
from windflow_desktop.stores.stacks import StacksStore
from windflow_desktop.ui.views.stacks import StacksPage

WAIT_MS = 15_000
GOOD = "services:\n  web:\n    image: localhost/busybox\n    ports: ['${WEB_PORT:-80}:80']\n"


@pytest.fixture
def page(qtbot: QtBot, workspace: Workspace) -> StacksPage:
    svc = workspace.services
    workspace.run(svc.auth.setup(username="alice", email="alice@example.test",
                                 password=PASSWORD, organization_name="Acme"))
    store = StacksStore(workspace.session, StackService(ServiceContext(svc.backend, svc.bus)))
    widget = StacksPage(store)
    qtbot.addWidget(widget)
    widget.resize(1180, 720)
    widget.show()
    workspace.run(workspace.session.login("alice", PASSWORD))
    return widget


def _type(qtbot: QtBot, widget: object, text: str) -> None:
    widget.setFocus()  # type: ignore[attr-defined]
    widget.selectAll()  # type: ignore[attr-defined]
    qtbot.keyClicks(widget, text)


def test_name_description_and_tags_are_edited_in_the_editor(qtbot: QtBot,
                                                            page: StacksPage) -> None:
    store = page.store
    qtbot.mouseClick(page.new_button, Qt.MouseButton.LeftButton)
    _type(qtbot, page.name_edit, "Hello web")
    _type(qtbot, page.description_edit, "A greeting on port 80")
    _type(qtbot, page.tags_edit, "web, demo")
    page.editor.setPlainText(GOOD)
    qtbot.waitUntil(page.save_button.isEnabled, timeout=WAIT_MS)
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    # no prompt asks for the name: nothing modal opens
    assert not any(isinstance(w, QDialog) and w.isVisible()
                   for w in QApplication.topLevelWidgets())
    qtbot.waitUntil(lambda: store.selected is not None, timeout=WAIT_MS)
    stack = store.selected
    assert stack is not None
    assert (stack.name, stack.description, stack.tags) == (
        "Hello web", "A greeting on port 80", ["web", "demo"])
    tags_column = [page.model.headerData(c, Qt.Orientation.Horizontal)
                   for c in range(page.model.columnCount())].index("Tags")
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=WAIT_MS)
    assert page.model.index(0, tags_column).data() == "web, demo"
    assert page.name_edit.text() == "Hello web"

    # renaming and retagging alone: the stack changes, no new revision is made
    _type(qtbot, page.name_edit, "Hello site")
    _type(qtbot, page.tags_edit, "web")
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: store.selected is not None and store.selected.name == "Hello site",
                    timeout=WAIT_MS)
    assert store.selected.tags == ["web"] and store.selected.current_revision == 1
    qtbot.waitUntil(lambda: page.model.index(0, tags_column).data() == "web", timeout=WAIT_MS)

    # a stack without a name is not saved, and the name field says why
    qtbot.mouseClick(page.new_button, Qt.MouseButton.LeftButton)
    page.editor.setPlainText(GOOD)
    qtbot.waitUntil(page.save_button.isEnabled, timeout=WAIT_MS)
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    assert page.name_edit.hasFocus() and "name" in page.message.text().lower()
    assert page.model.rowCount() == 1


def test_empty_states_of_the_editor(qtbot: QtBot, page: StacksPage) -> None:
    store = page.store
    # nothing chosen: no empty, unlabelled issues box
    assert not page.issues.isVisible()
    qtbot.mouseClick(page.new_button, Qt.MouseButton.LeftButton)
    _type(qtbot, page.name_edit, "Web")
    page.editor.setPlainText(GOOD)
    qtbot.waitUntil(page.save_button.isEnabled, timeout=WAIT_MS)
    assert not page.issues.isVisible()  # valid: nothing to list
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: store.revision is not None, timeout=WAIT_MS)
    page.editor.setPlainText("services:\n  web:\n    image: [oops\n")
    qtbot.waitUntil(page.issues.isVisible, timeout=WAIT_MS)
    page.editor.setPlainText(GOOD.replace(":80'", ":81'"))
    qtbot.waitUntil(lambda: not page.issues.isVisible(), timeout=WAIT_MS)  # fixed
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: store.revision is not None and store.revision.number == 2,
                    timeout=WAIT_MS)
    # Diff and Restore wait for a chosen revision
    page.tabs.setCurrentIndex(2)
    page.revisions.clearSelection()
    assert not page.diff_button.isEnabled() and not page.restore_button.isEnabled()
    page.revisions.selectRow(1)
    assert page.diff_button.isEnabled() and page.restore_button.isEnabled()
    page.revisions.clearSelection()
    assert not page.diff_button.isEnabled()
