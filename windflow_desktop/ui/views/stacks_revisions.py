"""The Revisions tab of the Stacks page: every saved revision (newest first), the diff
of one against the current one or of two, and the Diff and Restore buttons (the page
connects them to its store)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...domain.models import RevisionDiff, StackRevision
from ..models.base import Column, RowTableModel
from ..widgets.list_tools import elided_tips, fit_columns


class RevisionsModel(RowTableModel[StackRevision]):
    def __init__(self, parent: Any = None) -> None:
        super().__init__([
            Column("#", lambda r: r.number),
            Column("Saved", lambda r: r.created_at.astimezone().strftime("%Y-%m-%d %H:%M")),
            Column("Message", lambda r: r.message),
        ], key=lambda r: r.id, parent=parent)


class RevisionsPane(QWidget):
    def __init__(self, font: QFont, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = RevisionsModel(self)
        self.table = QTableView()
        self.table.setAccessibleName("Revisions")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(False)  # "Saved" wrapped onto two lines
        self.fit = fit_columns(self.table, minimum=40)
        elided_tips(self.table, middle=False)
        self.diff_button = QPushButton("Diff")
        self.diff_button.setAccessibleName("Diff revisions")
        self.diff_button.setToolTip("Select one revision (against the current one) or two")
        self.restore_button = QPushButton("Restore")
        self.restore_button.setAccessibleName("Restore revision")
        self.diff_view = QPlainTextEdit()
        self.diff_view.setReadOnly(True)
        self.diff_view.setAccessibleName("Diff")
        self.diff_view.setFont(font)
        layout = QVBoxLayout(self)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.diff_view)
        layout.addWidget(split, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.diff_button)
        buttons.addWidget(self.restore_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)

    def selected_numbers(self) -> list[int]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.model.row(r).number for r in rows]

    def show_diff(self, diff: RevisionDiff) -> None:
        if diff.unchanged:
            self.diff_view.setPlainText(f"Revisions {diff.old} and {diff.new} are the same.")
        else:
            self.diff_view.setPlainText(diff.compose + ("\n" + diff.variables
                                                        if diff.variables else ""))


__all__ = ["Any", "RevisionsModel", "RevisionsPane"]
