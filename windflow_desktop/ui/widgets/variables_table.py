"""The variables spec of a stack as an editable table: one row per variable (name,
description, default, required, secret, generator)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from ...domain.variables import GENERATORS

VAR_COLUMNS = ("Name", "Description", "Default", "Required", "Secret", "Generator")


class VariablesTable(QTableWidget):
    """The variables spec as an editable table (one row per variable)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(VAR_COLUMNS), parent)
        self.setAccessibleName("Variables")
        self.setHorizontalHeaderLabels(list(VAR_COLUMNS))
        self.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().hide()

    def set_spec(self, spec: list[dict[str, Any]]) -> None:
        self.setRowCount(0)
        for item in spec:
            self.add_variable(item)

    def add_variable(self, item: dict[str, Any] | None = None) -> None:
        item = item or {}
        row = self.rowCount()
        self.insertRow(row)
        self.setItem(row, 0, QTableWidgetItem(str(item.get("name", ""))))
        self.setItem(row, 1, QTableWidgetItem(str(item.get("description", ""))))
        self.setItem(row, 2, QTableWidgetItem(str(item.get("default") or "")))
        for col, key in ((3, "required"), (4, "secret")):
            check = QTableWidgetItem()
            check.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            check.setCheckState(Qt.CheckState.Checked if item.get(key)
                                else Qt.CheckState.Unchecked)
            self.setItem(row, col, check)
        combo = QComboBox()
        combo.setAccessibleName("Generator")
        combo.addItems(["", *GENERATORS])
        combo.setCurrentText(str(item.get("generator") or ""))
        combo.currentTextChanged.connect(lambda text, c=combo: self._generator_chosen(c, text))
        self.setCellWidget(row, 5, combo)

    def _generator_chosen(self, combo: QComboBox, generator: str) -> None:
        """A generated value is secret unless the user unticks Secret afterwards, or the
        row has a default (a default is never secret: ticking would make Save refuse)."""
        for row in range(self.rowCount()):
            secret = self.item(row, 4)
            default = (self.item(row, 2) or QTableWidgetItem()).text()
            if (self.cellWidget(row, 5) is combo and generator and secret is not None
                    and not default):
                secret.setCheckState(Qt.CheckState.Checked)

    def spec(self) -> list[dict[str, Any]]:
        out = []
        for row in range(self.rowCount()):
            name = (self.item(row, 0) or QTableWidgetItem()).text().strip()
            if not name:
                continue
            entry: dict[str, Any] = {"name": name}
            description = (self.item(row, 1) or QTableWidgetItem()).text().strip()
            default = (self.item(row, 2) or QTableWidgetItem()).text()
            if description:
                entry["description"] = description
            if default:
                entry["default"] = default
            for col, key in ((3, "required"), (4, "secret")):
                item = self.item(row, col)
                if item is not None and item.checkState() == Qt.CheckState.Checked:
                    entry[key] = True
            combo = self.cellWidget(row, 5)
            if isinstance(combo, QComboBox) and combo.currentText():
                entry["generator"] = combo.currentText()
                entry.setdefault("secret", False)  # unticked: said so (else it is secret)
            out.append(entry)
        return out
