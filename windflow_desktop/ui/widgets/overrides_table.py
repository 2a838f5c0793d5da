"""``OverridesTable``: values that replace the common variables for some targets of a
deploy — one row per chosen target, one column per variable of the revision's spec.

An empty cell means "no override" (the common value applies). Every cell keeps its value
in ``VALUE_ROLE``; the display role shows it, except in a secret column, where the cell
shows a fixed row of dots and is edited in a password field — a secret is never painted,
read out by a screen reader or copied in clear.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...domain.variables import VariableSpec

VALUE_ROLE = Qt.ItemDataRole.UserRole + 1
HIDDEN = "\u2022" * 8  # always eight dots: the display does not tell a secret's length

Index = QModelIndex | QPersistentModelIndex
Chosen = Sequence[tuple[uuid.UUID, str]]  # (target id, target name), in list order


def _put(model: QAbstractItemModel, index: Index, value: str, secret: bool) -> None:
    model.setData(index, value, VALUE_ROLE)
    model.setData(index, HIDDEN if secret and value else value, Qt.ItemDataRole.DisplayRole)
    if secret:
        model.setData(index, "hidden value" if value else "",
                      Qt.ItemDataRole.AccessibleTextRole)


class _CellDelegate(QStyledItemDelegate):
    """Edits ``VALUE_ROLE`` in a line edit; a password field in the secret columns."""

    def __init__(self, secret_columns: set[int], parent: QWidget) -> None:
        super().__init__(parent)
        self._secret = secret_columns

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,
                     index: Index) -> QWidget:
        editor = QLineEdit(parent)
        editor.setFrame(False)
        if index.column() in self._secret:
            editor.setEchoMode(QLineEdit.EchoMode.Password)
        return editor

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        assert isinstance(editor, QLineEdit)
        editor.setText(index.data(VALUE_ROLE) or "")

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: Index) -> None:
        assert isinstance(editor, QLineEdit)
        _put(model, index, editor.text(), index.column() in self._secret)


class OverridesTable(QWidget):
    """The table (``table``, named "Per-target overrides") and a note above it saying how
    to use it. ``set_targets`` follows the chosen targets; ``overrides`` reads it."""

    def __init__(self, specs: Sequence[VariableSpec], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.specs = list(specs)
        self._targets: list[tuple[uuid.UUID, str]] = []
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.table = QTableWidget(0, len(self.specs))
        self.table.setAccessibleName("Per-target overrides")
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(False)  # a long value is elided, rows stay one line high
        for column, spec in enumerate(self.specs):
            header = QTableWidgetItem(spec.name + (" (secret)" if spec.secret else ""))
            header.setToolTip(spec.description)
            self.table.setHorizontalHeaderItem(column, header)
        self.table.setItemDelegate(_CellDelegate(
            {column for column, spec in enumerate(self.specs) if spec.secret}, self.table))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setVisible(bool(self.specs))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.note)
        layout.addWidget(self.table, 1)
        self._update_note()

    def set_targets(self, targets: Chosen) -> None:
        """One row per target of ``targets``; a target that stays keeps its values, one
        that goes loses them."""
        targets = list(targets)
        if targets == self._targets:
            return
        kept = self.overrides()
        self._targets = targets
        self.table.setRowCount(0)
        self.table.setRowCount(len(targets))
        model = self.table.model()
        for row, (target_id, name) in enumerate(targets):
            self.table.setVerticalHeaderItem(row, QTableWidgetItem(name))
            for column, spec in enumerate(self.specs):
                value = kept.get(target_id, {}).get(spec.name)
                if value:
                    _put(model, model.index(row, column), value, spec.secret)
        self._update_note()

    def overrides(self) -> dict[uuid.UUID, dict[str, str | None]]:
        """The non-empty cells, by target id then variable name."""
        out: dict[uuid.UUID, dict[str, str | None]] = {}
        for row, (target_id, _) in enumerate(self._targets):
            values: dict[str, str | None] = {}
            for column, spec in enumerate(self.specs):
                item = self.table.item(row, column)
                value = item.data(VALUE_ROLE) if item is not None else None
                if value:
                    values[spec.name] = value
            if values:
                out[target_id] = values
        return out

    def _update_note(self) -> None:
        if not self.specs:
            text = "This revision declares no variables: there is nothing to override."
        elif len(self._targets) < 2:
            text = ("Check two or more targets to give one of them different values. "
                    "An empty cell keeps the value from the Variables form.")
        else:
            text = "An empty cell keeps the value from the Variables form."
        self.note.setText(text)
