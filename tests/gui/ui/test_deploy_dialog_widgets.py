"""The deploy dialog's per-target overrides table on its own: rows follow the chosen
targets and keep what was typed, cells are edited through the delegate as a person does,
and a secret cell never shows (or reads out) its value."""

from __future__ import annotations

import uuid
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from tests.support.deploy_dialog_widgets import press_enter, type_into
from windflow_desktop.domain.variables import parse_spec
from windflow_desktop.ui.widgets.overrides_table import OverridesTable

SPECS = parse_spec([
    {"name": "GREETING", "description": "What the page says", "default": "hello"},
    {"name": "DB_PASSWORD", "description": "Database password", "secret": True},
])
A, B, C = (uuid.uuid4(), "alpha"), (uuid.uuid4(), "beta"), (uuid.uuid4(), "gamma")


def overrides_table(qtbot: QtBot, *targets: tuple[uuid.UUID, str]) -> OverridesTable:
    widget = OverridesTable(SPECS)
    qtbot.addWidget(widget)
    widget.show()
    widget.set_targets(targets)
    return widget


def test_columns_are_the_spec_with_descriptions_as_tooltips(qtbot: QtBot) -> None:
    widget = overrides_table(qtbot, A, B)
    table = widget.table
    assert table.accessibleName() == "Per-target overrides"
    headers = [table.horizontalHeaderItem(c) for c in range(table.columnCount())]
    assert [h.text() for h in headers] == ["GREETING", "DB_PASSWORD (secret)"]
    assert [h.toolTip() for h in headers] == ["What the page says", "Database password"]
    assert [table.verticalHeaderItem(r).text() for r in range(table.rowCount())] == [
        "alpha", "beta"]


def test_rows_follow_the_targets_and_keep_what_was_typed(qtbot: QtBot) -> None:
    widget = overrides_table(qtbot, A, B)
    type_into(qtbot, widget.table, 1, 0, "Bonjour")
    assert widget.overrides() == {B[0]: {"GREETING": "Bonjour"}}

    widget.set_targets([A, B, C])  # another target checked: beta keeps its value
    assert widget.table.rowCount() == 3
    assert widget.overrides() == {B[0]: {"GREETING": "Bonjour"}}
    assert widget.table.item(1, 0).text() == "Bonjour"

    widget.set_targets([A, C])  # beta unchecked: its row and its override go
    assert widget.table.rowCount() == 2
    assert widget.overrides() == {}
    widget.set_targets([A, B, C])  # checked again: starts empty
    assert widget.overrides() == {}


def test_an_emptied_cell_is_no_override(qtbot: QtBot) -> None:
    widget = overrides_table(qtbot, A, B)
    type_into(qtbot, widget.table, 0, 0, "Hi")
    assert widget.overrides() == {A[0]: {"GREETING": "Hi"}}
    type_into(qtbot, widget.table, 0, 0, "")
    assert widget.overrides() == {}


def test_a_secret_cell_never_shows_its_value(qtbot: QtBot) -> None:
    widget = overrides_table(qtbot, A, B)
    table = widget.table
    index = table.model().index(0, 1)
    table.setCurrentIndex(index)
    table.edit(index)
    editor = table.indexWidget(index)
    assert isinstance(editor, QLineEdit)
    assert editor.echoMode() == QLineEdit.EchoMode.Password
    qtbot.keyClicks(editor, "s3cret-pw")
    press_enter(qtbot, table, editor)

    assert widget.overrides() == {A[0]: {"DB_PASSWORD": "s3cret-pw"}}
    for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole,
                 Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
        assert "s3cret" not in str(index.data(role))
    assert set(index.data(Qt.ItemDataRole.DisplayRole)) == {"\u2022"}
    delegate: Any = table.itemDelegateForIndex(index)
    assert "s3cret" not in delegate.displayText(index.data(), table.locale())
    # kept (still hidden) when the rows are rebuilt
    widget.set_targets([A, B, C])
    assert widget.overrides() == {A[0]: {"DB_PASSWORD": "s3cret-pw"}}
    assert "s3cret" not in str(table.model().index(0, 1).data())
    # editing again starts from the kept value, still in a password field
    table.edit(table.model().index(0, 1))
    again = table.indexWidget(table.model().index(0, 1))
    assert isinstance(again, QLineEdit) and again.text() == "s3cret-pw"
    assert again.echoMode() == QLineEdit.EchoMode.Password


def test_the_note_says_how_to_use_it(qtbot: QtBot) -> None:
    widget = overrides_table(qtbot, A)
    assert "two or more targets" in widget.note.text()
    assert widget.table.rowCount() == 1  # one target may still get its own values
    widget.set_targets([A, B])
    assert "two or more" not in widget.note.text()
    empty = OverridesTable([])
    qtbot.addWidget(empty)
    assert "no variables" in empty.note.text() and empty.table.isHidden()


def test_the_model_is_sound(qtbot: QtBot, qtmodeltester: Any) -> None:
    widget = overrides_table(qtbot, A, B)
    type_into(qtbot, widget.table, 0, 1, "pw")
    qtmodeltester.check(widget.table.model())
