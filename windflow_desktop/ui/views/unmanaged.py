"""``UnmanagedPanel``: the Containers page's group "Not managed by WindFlow" — the chosen
target's Compose projects that no deployment holds (with their containers) and its
containers of no project — with "Adopt…" on a project for those who may deploy."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...domain.adopt import UnmanagedProject
from ...domain.words import plural
from ...stores.adopt import Adopted, AdoptStore
from ..dialogs.adopt import AdoptDialog
from ..widgets.message_bar import MessageBar

PROJECT_ROLE = Qt.ItemDataRole.UserRole + 20


class UnmanagedPanel(QGroupBox):
    def __init__(self, store: AdoptStore, parent: QWidget | None = None) -> None:
        super().__init__("Not managed by WindFlow", parent)
        self.store = store
        self.setAccessibleName("Not managed by WindFlow")
        self.dialog: AdoptDialog | None = None
        self.messages = MessageBar()
        store.sig_error.connect(self._error)
        self.summary = QLabel("")
        self.summary.setAccessibleName("Not managed summary")
        self.summary.setWordWrap(True)
        self.adopt_button = QPushButton("Adopt…")
        self.adopt_button.setAccessibleName("Adopt project")
        self.adopt_button.setToolTip("Take the selected Compose project over as a stack, "
                                     "without recreating its containers")
        self.tree = QTreeWidget()
        self.tree.setAccessibleName("Not managed by WindFlow list")
        self.tree.setHeaderLabels(["Name", "Image", "State", "Started from"])
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setRootIsDecorated(True)
        for column, width in ((0, 230), (1, 200), (2, 90)):
            self.tree.setColumnWidth(column, width)
        row = QHBoxLayout()
        row.addWidget(self.summary, 1)
        row.addWidget(self.adopt_button)
        outer = QVBoxLayout(self)
        outer.addWidget(self.messages)
        outer.addLayout(row)
        outer.addWidget(self.tree, 1)
        self.adopt_button.clicked.connect(self.open_adopt)
        self.tree.currentItemChanged.connect(lambda *_a: self._update_actions())
        store.sig_unmanaged_changed.connect(self._rebuild)
        store.sig_adopted.connect(self._adopted)
        self._rebuild()

    def _rebuild(self) -> None:
        chosen = self.selected_project()
        self.tree.clear()
        found = self.store.unmanaged
        if found is None:
            self.summary.setText("Looking…" if self.store.target_id else "")
            self._update_actions()
            return
        for project in found.projects:
            head = QTreeWidgetItem([f"{project.name}  ({project.running}/"
                                    f"{len(project.containers)} running)", "", "",
                                    ", ".join(project.config_files) or project.working_dir])
            head.setData(0, PROJECT_ROLE, project)
            head.setToolTip(3, project.working_dir)
            font = head.font(0)
            font.setBold(True)
            head.setFont(0, font)
            for c in project.containers:
                child = QTreeWidgetItem([c.service or c.name, c.image, c.state, ""])
                child.setData(0, PROJECT_ROLE, project)
                child.setToolTip(0, f"{c.name} ({c.short_id})")
                head.addChild(child)
            self.tree.addTopLevelItem(head)
            if chosen is not None and chosen.name == project.name:
                self.tree.setCurrentItem(head)
        if found.containers:
            plain = QTreeWidgetItem([f"Plain containers  ({len(found.containers)})", "", "",
                                     "docker run"])
            font = plain.font(0)
            font.setBold(True)
            plain.setFont(0, font)
            for c in found.containers:
                plain.addChild(QTreeWidgetItem([c.name, c.image, c.state, ""]))
            self.tree.addTopLevelItem(plain)
        self.tree.expandAll()
        self.summary.setText(
            f"{plural(len(found.projects), 'Compose project')} and "
            f"{plural(len(found.containers), 'plain container')} run here outside WindFlow"
            if found.projects or found.containers else
            "Everything on this target is managed by WindFlow.")
        self._update_actions()

    def selected_project(self) -> UnmanagedProject | None:
        item = self.tree.currentItem()
        value = item.data(0, PROJECT_ROLE) if item is not None else None
        return value if isinstance(value, UnmanagedProject) else None

    def _update_actions(self) -> None:
        project = self.selected_project()
        self.adopt_button.setVisible(self.store.can_adopt)
        self.adopt_button.setEnabled(project is not None and not project.windflow_named)
        self.adopt_button.setToolTip(
            "Deployed by WindFlow from another workspace or server: manage it there"
            if project is not None and project.windflow_named else
            "Take the selected Compose project over as a stack, without recreating its "
            "containers")

    def open_adopt(self) -> AdoptDialog | None:
        project = self.selected_project()
        if project is None or project.windflow_named or not self.store.can_adopt:
            return None
        self.dialog = AdoptDialog(self.store, project, parent=self)
        self.dialog.open()
        return self.dialog

    def _error(self, code: str, message: str) -> None:
        if self.dialog is None or not self.dialog.isVisible():  # else the dialog says it
            self.messages.show_error(code, message)

    def _adopted(self, adopted: Adopted) -> None:
        notes = f" ({'; '.join(adopted.notes)})" if adopted.notes else ""
        self.messages.show_success(
            f"{adopted.project} is now the stack {adopted.stack_name}, revision "
            f"{adopted.revision}{notes}", timeout_ms=12000)
