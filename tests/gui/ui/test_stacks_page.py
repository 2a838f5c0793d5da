"""The Stacks page over the real StackService (SQLite): list, editor with validation
marks, saving a revision through the UI, diff and restore, and the model under
qtmodeltester."""

from __future__ import annotations

from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from tests.support.auth import PASSWORD
from tests.support.qt import Workspace
from windflow_desktop.stores.stacks import StacksStore
from windflow_desktop.ui.views.stacks import StacksPage

WAIT_MS = 15_000
GOOD = "services:\n  web:\n    image: localhost/busybox\n    ports: ['${PORT}:80']\n"


def test_edit_validate_save_diff_restore(qtbot: QtBot, workspace: Workspace,
                                         stacks: StacksStore) -> None:
    ws = workspace
    page = StacksPage(stacks)
    qtbot.addWidget(page)
    page.resize(1200, 700)
    page.show()
    ws.run(ws.session.login("alice", PASSWORD))
    p = ws.session.principal
    assert p is not None
    service = stacks._service
    for name in ("Web", "Monitoring", "Database"):
        ws.run(service.create_stack(p, name=name, compose_yaml=GOOD,
                                    variables=[{"name": "PORT", "default": "8080"}]))
    ws.run(stacks.load())
    assert page.model.rowCount() == 3
    ModelTester(None).check(page.model)  # type: ignore[arg-type]

    page.table.selectRow(2)  # sorted by name: Database, Monitoring, Web
    qtbot.waitUntil(lambda: stacks.selected is not None and stacks.selected.name == "Web",
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: page.editor.toPlainText() == GOOD, timeout=WAIT_MS)

    # a broken edit: the line is marked, the issue listed, saving disabled
    page.editor.setPlainText("services:\n  web:\n    image: [oops\n")
    qtbot.waitUntil(lambda: page.issues.count() > 0
                    and "YAML syntax" in page.issues.item(0).text(), timeout=WAIT_MS)
    assert page.editor.issues_on_line(4) or page.editor.issues_on_line(3)
    assert not page.save_button.isEnabled()
    assert "error" in page.validation_label.text()

    # a good edit saved through the UI becomes revision 2
    page.editor.setPlainText(GOOD.replace(":80", ":8080"))
    qtbot.waitUntil(lambda: page.save_button.isEnabled(), timeout=WAIT_MS)
    page.message_edit.setText("port 8080 inside")
    page.save_button.click()
    qtbot.waitUntil(lambda: stacks.revision is not None and stacks.revision.number == 2,
                    timeout=WAIT_MS)
    assert stacks.revision.message == "port 8080 inside"
    assert page.revisions_model.rowCount() == 2
    assert "revision 2" in page.title.text()

    # diff revision 1 against the current one, then restore it (revision 3)
    page.revisions.selectRow(1)
    page.diff_button.click()
    qtbot.waitUntil(lambda: "+    ports: ['${PORT}:8080']" in page.diff_view.toPlainText(),
                    timeout=WAIT_MS)
    page.restore_button.click()
    qtbot.waitUntil(lambda: stacks.revision is not None and stacks.revision.number == 3,
                    timeout=WAIT_MS)
    assert stacks.revision.compose_yaml == GOOD
    ws.run(stacks.shutdown())
