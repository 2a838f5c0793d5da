"""The list side of the Stacks page: the filter box, the "Archived" switch, the stacks
table (sortable, its columns remembered and fitted, ``UNSAVED_MARK`` after the name of
the stack with unsaved edits) and the New/Import buttons. The page connects them to its
store."""

from __future__ import annotations

import uuid
from typing import Any

from PySide6.QtCore import QSettings, QSortFilterProxyModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...domain.models import Stack
from ..models.base import SORT_ROLE, Column, RowTableModel
from ..widgets.list_tools import elided_tips, fit_columns, fit_placeholder, remember_header
from .unsaved import UNSAVED_MARK

SETTINGS_HEADER = "stacks/header"


class StacksModel(RowTableModel[Stack]):
    def __init__(self, parent: Any = None) -> None:
        super().__init__([
            Column("Name", lambda s: s.name, lambda s: s.name.lower()),
            Column("Revision", lambda s: s.current_revision,
                   align=Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
            Column("Tags", lambda s: ", ".join(s.tags), lambda s: ", ".join(s.tags).lower()),
        ], key=lambda s: s.id, parent=parent)
        self.unsaved_id: uuid.UUID | None = None  # the stack whose edits are not saved

    def data(self, index: Any, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        value = super().data(index, role)
        if role == Qt.ItemDataRole.DisplayRole and index.column() == 0 and \
                self.unsaved_id is not None and self.row(index.row()).id == self.unsaved_id:
            return f"{value} {UNSAVED_MARK}"
        return value

    def mark_unsaved(self, stack_id: uuid.UUID | None) -> None:
        changed = {self.unsaved_id, stack_id} - {None}
        self.unsaved_id = stack_id
        for sid in changed:
            row = self.position(sid)
            if row is not None:
                self.dataChanged.emit(self.index(row, 0), self.index(row, 0))


class StackListPane(QWidget):
    """``model`` holds the stacks, ``proxy`` sorts and filters them for ``table``; the
    header's state is kept in ``ui_settings`` (``SETTINGS_HEADER``)."""

    def __init__(self, ui_settings: QSettings | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter stacks  (Ctrl+F)")
        self.search.setAccessibleName("Search stacks")
        self.search.setToolTip("Filters the list as you type; Return searches the workspace")
        self.search.setClearButtonEnabled(True)
        fit_placeholder(self.search)
        self.archived = QCheckBox("Archived")
        self.archived.setAccessibleName("Show archived stacks")
        self.model = StacksModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.table = QTableView()
        self.table.setAccessibleName("Stacks")
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)  # tags take what is left
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.header_memory = remember_header(self.table, ui_settings, SETTINGS_HEADER)
        self.column_fit = fit_columns(self.table, maximum=200, memory=self.header_memory)
        elided_tips(self.table, middle=False)
        self.new_button = QPushButton("New stack")
        self.new_button.setAccessibleName("New stack")
        self.import_button = QPushButton("Import…")
        self.import_button.setAccessibleName("Import stack")
        lv = QVBoxLayout(self)
        lv.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.archived)
        lv.addLayout(top)
        lv.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.import_button)
        buttons.addStretch(1)
        lv.addLayout(buttons)
