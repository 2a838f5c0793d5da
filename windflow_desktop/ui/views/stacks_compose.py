"""The Compose tab of the Stacks page: the YAML editor with validation marks, the list of
issues (a click goes to the line), the verdict line, and the "this stack needs host
access" flag (the page connects it to its store)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from ...domain.compose import ComposeReport
from ...domain.words import plural
from ..widgets.yaml_editor import YamlEditor


class ComposePane(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = YamlEditor()
        self.issues = QListWidget()
        self.issues.setAccessibleName("Validation issues")
        self.issues.setMaximumHeight(110)
        self.issues.itemActivated.connect(self._go_to_issue)
        self.issues.itemClicked.connect(self._go_to_issue)
        self.issues.hide()  # shown with issues only: an empty box says nothing
        self.validation_label = QLabel("")
        self.host_access = QCheckBox("This stack needs host access")
        self.host_access.setAccessibleName("This stack needs host access")
        self.host_access.setToolTip(
            "Host paths, privileged mode, the host's PID or network namespace, devices and "
            "added capabilities deploy only when this is ticked (it takes stacks:write, to "
            "tick and to deploy)")
        self.host_access.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.validation_label)
        layout.addWidget(self.issues)
        layout.addWidget(self.host_access)

    def show_report(self, report: ComposeReport) -> int:
        """Mark the issues in the editor and list them; returns how many are errors."""
        self.editor.set_issues(report.issues)
        self.issues.clear()
        for issue in report.issues:
            item = QListWidgetItem(("✖ " if issue.severity == "error" else "⚠ ") + str(issue))
            item.setData(Qt.ItemDataRole.UserRole, (issue.line, issue.column))
            self.issues.addItem(item)
        self.issues.setVisible(bool(report.issues))
        errors, warnings = len(report.errors), len(report.warnings)
        if not errors and not warnings:
            self.validation_label.setText(
                f"✔ Valid: {plural(len(report.services), 'service')} "
                f"({', '.join(report.services)}), "
                f"{plural(len({v.name for v in report.variables}), 'variable')} used")
        else:
            self.validation_label.setText(
                f"{plural(errors, 'error')}, {plural(warnings, 'warning')}")
        return errors

    def _go_to_issue(self, item: QListWidgetItem) -> None:
        line, column = item.data(Qt.ItemDataRole.UserRole)
        if line:
            self.editor.go_to(line, column)
