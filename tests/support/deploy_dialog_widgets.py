"""Helpers shared by the tests (a test imports no other test module nor a conftest),
cut out of ``tests/gui/ui/test_deploy_dialog_widgets.py``."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QTableWidget
from pytestqt.qtbot import QtBot


def press_enter(qtbot: QtBot, table: QTableWidget, editor: QLineEdit) -> None:
    """Enter commits the editor's text and closes it (a queued call in Qt's delegate)."""
    index = table.currentIndex()
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: table.indexWidget(index) is None)


def type_into(qtbot: QtBot, table: QTableWidget, row: int, column: int, text: str) -> None:
    """Open the cell's editor, replace its text with ``text`` and press Enter."""
    index = table.model().index(row, column)
    table.setCurrentIndex(index)
    table.edit(index)
    editor = table.indexWidget(index)
    assert isinstance(editor, QLineEdit)
    editor.selectAll()
    qtbot.keyClick(editor, Qt.Key.Key_Delete)
    qtbot.keyClicks(editor, text)
    press_enter(qtbot, table, editor)
