"""The Targets page: the table of targets (name, kind, host, status badge, engine
version, last seen) with a filter; add/edit (the wizard), delete, test and scan actions;
the capability panel and the step-by-step test results of the selected target.

It binds to ``TargetsStore`` only. Long actions show progress in the status line and can
be cancelled; errors appear in the message bar, never as a modal box. Ctrl+F focuses the
filter, F5 reloads, Delete (in the table) asks before deleting the selected target; the
table has a context menu, and its column widths and sort order are remembered.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from PySide6.QtCore import QModelIndex, QSettings, QSortFilterProxyModel, Qt
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...domain.enums import TargetKind, TargetStatus
from ...domain.models import Target
from ...domain.words import ago
from ...stores.targets import ConnectionReport, StepResult, TargetsStore
from ..dialogs.target_wizard import StepsView, TargetWizard
from ..models.base import SORT_ROLE, Column, RowTableModel
from ..widgets.badge import BadgeDelegate
from ..widgets.list_tools import (
    EmptyState,
    add_action,
    confirm,
    elided_tips,
    fit_columns,
    fit_placeholder,
    install_context_menu,
    install_page_shortcuts,
    remember_header,
    select_key,
    selected_row,
)
from ..widgets.message_bar import MessageBar
from ..widgets.page_header import PageHeader, page_layout
from ..widgets.target_text import capability_row, host_text, kind_text

STATUS_TONE = {TargetStatus.ONLINE: "success", TargetStatus.OFFLINE: "warning",
               TargetStatus.ERROR: "error", TargetStatus.UNKNOWN: "neutral"}
SETTINGS_HEADER = "targets/header"


class TargetsPage(QWidget):
    def __init__(self, store: TargetsStore, ui_settings: QSettings | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setAccessibleName("Targets page")
        self._wizard: TargetWizard | None = None
        self._boxes: list[QMessageBox] = []

        self.header = PageHeader("Targets", "The machines you deploy to: this computer, "
                                            "hosts over SSH, Docker engines over TCP+TLS.")
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by name, host, status…  (Ctrl+F)")
        self.filter.setAccessibleName("Filter targets")
        self.filter.setClearButtonEnabled(True)
        fit_placeholder(self.filter)
        self.add_button = QPushButton("Add target…")
        self.edit_button = QPushButton("Edit…")
        self.delete_button = QPushButton("Delete")
        self.test_button = QPushButton("Test")
        self.scan_button = QPushButton("Scan")
        self.scan_all_button = QPushButton("Scan all")
        self.cancel_button = QPushButton("Cancel")
        for button, name in ((self.add_button, "Add target"), (self.edit_button, "Edit target"),
                             (self.delete_button, "Delete target"),
                             (self.test_button, "Test connection"),
                             (self.scan_button, "Scan target"),
                             (self.scan_all_button, "Scan all targets"),
                             (self.cancel_button, "Cancel test or scan")):
            button.setAccessibleName(name)
        self.delete_button.setToolTip("Delete the selected target (Delete)")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setTextVisible(True)
        self.progress.setAccessibleName("Progress")
        self.progress.hide()
        self.cancel_button.hide()
        self.messages = MessageBar()

        self.model: RowTableModel[Target] = RowTableModel(
            [
                Column("Name", lambda t: t.name, lambda t: t.name.lower()),
                Column("Kind", kind_text),
                Column("Host", host_text),
                Column("Status", lambda t: t.status.value),
                Column("Engine", lambda t: store.engine_version(t.id) or "—"),
                Column("Last seen", lambda t: ago(t.last_seen),
                       lambda t: t.last_seen.timestamp() if t.last_seen else 0.0),
            ],
            key=lambda t: t.id,
        )
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        self.table = QTableView()
        self.table.setAccessibleName("Targets")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # hosts differ at both ends
        self.table.setItemDelegateForColumn(
            3, BadgeDelegate(lambda t: STATUS_TONE[t.status], self.table))
        # Every column keeps a readable width (the table scrolls sideways if it must);
        # the last one takes what is left. The host was squeezed to "d…" by a stretch
        # column between fixed ones.
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setMinimumSectionSize(60)
        for column, width in ((0, 140), (1, 70), (2, 200), (3, 90), (4, 80), (5, 100)):
            self.table.setColumnWidth(column, width)
        self.header_memory = remember_header(self.table, ui_settings, SETTINGS_HEADER)
        self.column_fit = fit_columns(self.table, memory=self.header_memory)
        elided_tips(self.table)
        self.empty_state = EmptyState(
            self.table, self.model, "No targets yet. Add this computer, a host over SSH "
            "or a Docker engine to deploy to.", "Add target…", lambda: self.open_wizard(None))

        self.detail_title = QLabel("Select a target")
        self.detail_title.setObjectName("sectionTitle")
        self.capabilities = QTreeWidget()
        self.capabilities.setAccessibleName("Capabilities")
        self.capabilities.setHeaderLabels(["Capability", "Version", "Details"])
        self.capabilities.setRootIsDecorated(False)
        self.capabilities.setColumnWidth(0, 130)
        self.capabilities.setColumnWidth(1, 150)
        elided_tips(self.capabilities, middle=False)
        self.capabilities_fit = fit_columns(self.capabilities, maximum=220)
        self.steps = StepsView()
        self.test_summary = QLabel("")
        self.test_summary.setWordWrap(True)
        self.test_summary.setAccessibleName("Last test")

        toolbar = QHBoxLayout()
        for widget in (self.add_button, self.edit_button, self.delete_button,
                       self.test_button, self.scan_button, self.scan_all_button):
            toolbar.addWidget(widget)
        toolbar.addStretch(1)
        toolbar.addWidget(self.progress)
        toolbar.addWidget(self.cancel_button)
        toolbar.addWidget(self.filter, 1)

        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.addWidget(self.detail_title)
        detail_layout.addWidget(self.capabilities, 3)
        detail_layout.addWidget(QLabel("Connection test"))
        detail_layout.addWidget(self.steps, 2)
        detail_layout.addWidget(self.test_summary)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([700, 360])

        layout = page_layout(self, self.header)
        layout.addWidget(self.messages)
        layout.addLayout(toolbar)
        layout.addWidget(splitter, 1)

        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.add_button.clicked.connect(lambda: self.open_wizard(None))
        self.edit_button.clicked.connect(self._edit)
        self.delete_button.clicked.connect(self._delete)
        self.test_button.clicked.connect(self._test)
        self.scan_button.clicked.connect(self._scan)
        self.scan_all_button.clicked.connect(self._scan_all)
        self.cancel_button.clicked.connect(self._cancel)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.table.doubleClicked.connect(lambda _i: self._edit())
        install_context_menu(self.table, self.build_context_menu)
        self.shortcuts = install_page_shortcuts(
            self, filter_edit=self.filter, refresh=self.refresh, delete=self._delete,
            list_view=self.table)
        store.sig_targets_reset.connect(self._reset)
        store.sig_targets_applied.connect(self._applied)
        store.sig_capabilities_loaded.connect(self._capabilities_loaded)
        store.sig_test_step.connect(self._on_step)
        store.sig_test_finished.connect(self._on_report)
        store.sig_scan_progress.connect(self._on_progress)
        store.sig_busy_changed.connect(self._on_busy)
        store.sig_error.connect(self.messages.show_error)
        self._reset()

    # -- store → view ----------------------------------------------------------------------

    def _reset(self) -> None:
        self.model.reset(self.store.targets)
        self._update_actions()

    def _applied(self, upserts: tuple[Target, ...], removed: tuple[uuid.UUID, ...]) -> None:
        self.model.apply(upserts, removed)
        self._update_actions()
        selected = self.selected()
        if selected is not None and any(t.id == selected.id for t in upserts):
            self._show_detail(selected)

    def _capabilities_loaded(self, target_id: uuid.UUID) -> None:
        selected = self.selected()
        if selected is not None and selected.id == target_id:
            self._show_detail(selected)
        target = self.store.target(target_id)
        if target is not None:
            self.model.apply([target])

    def _on_step(self, step: StepResult) -> None:
        if self._wizard is None:  # while the wizard is open, its test is the one running
            self.steps.add_step(step)

    def _on_report(self, report: ConnectionReport) -> None:
        if self._wizard is not None:
            return
        self.test_summary.setText(
            f"Connected — Docker {report.engine_version}" if report.ok
            else f"Not connected: {report.error}")

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"Scanned {done}/{total}")

    def _on_busy(self, _busy: bool = False) -> None:
        running = self.store.is_running("test") or self.store.is_running("scan")
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        if self.store.is_running("test"):
            self.progress.setMaximum(0)  # indeterminate while testing

    def _track(self, task: asyncio.Task[Any]) -> None:
        """Show progress and the cancel button while ``task`` runs; its success clears
        an earlier error."""
        self.messages.clear_on_success(task, self.store)
        self._on_busy()
        task.add_done_callback(lambda _t: self._on_busy())

    # -- view → store ----------------------------------------------------------------------

    def selected(self) -> Target | None:
        return selected_row(self.table, Target)

    def select(self, target_id: uuid.UUID) -> None:
        select_key(self.table, self.proxy, self.model, target_id)

    def _on_selection(self) -> None:
        target = self.selected()
        self.steps.clear()
        self.test_summary.clear()
        if target is not None:
            self._show_detail(target)
            if not self.store.capabilities(target.id):
                self.store.load_capabilities(target.id)
        else:
            self.detail_title.setText("Select a target")
            self.capabilities.clear()
        self._update_actions()

    def _show_detail(self, target: Target) -> None:
        self.detail_title.setText(f"{target.name} — {target.status.value}, "
                                  f"last seen {ago(target.last_seen)}")
        self.capabilities.clear()
        for cap in self.store.capabilities(target.id):
            item = QTreeWidgetItem(list(capability_row(cap)))
            for column in range(3):
                item.setToolTip(column, item.text(column))
            self.capabilities.addTopLevelItem(item)

    def _update_actions(self) -> None:
        has = self.selected() is not None
        self.add_button.setEnabled(self.store.can_write)
        self.edit_button.setEnabled(has and self.store.can_write)
        self.delete_button.setEnabled(has and self.store.can_write)
        self.test_button.setEnabled(has and self.store.can_scan)
        self.scan_button.setEnabled(has and self.store.can_scan)
        self.scan_all_button.setEnabled(bool(self.store.targets) and self.store.can_scan)

    def open_wizard(self, target: Target | None) -> TargetWizard:
        wizard = TargetWizard(self.store, target, self)
        self._wizard = wizard
        wizard.finished.connect(lambda _r: self._wizard_closed(wizard))
        # Finish: show the target it saved (read now: the wizard is deleted after).
        wizard.accepted.connect(lambda: self._select_saved(wizard.target_id))
        wizard.open()
        return wizard

    def _wizard_closed(self, wizard: TargetWizard) -> None:
        """The wizard is done (its own store handlers were disconnected on finish):
        forget it before it is deleted, so nothing here touches it again."""
        if self._wizard is wizard:
            self._wizard = None
        wizard.deleteLater()

    def _select_saved(self, target_id: uuid.UUID | None) -> None:
        if target_id is not None:
            self.select(target_id)
            self.table.setFocus()

    def _edit(self) -> None:
        target = self.selected()
        if target is not None and self.store.can_write:
            self.open_wizard(target)

    def refresh(self) -> None:
        self.messages.clear()
        self.store.load()

    def _delete(self) -> None:
        target = self.selected()
        if target is None or not self.store.can_write:
            return
        box = confirm(self, title="Delete target", text=f"Delete {target.name}?",
                      detail="Its deployments history stays; its stored password or "
                             "passphrase is removed from the keyring.",
                      button="Delete", then=lambda: self.store.delete(target.id))
        self._boxes.append(box)
        box.finished.connect(lambda _r: self._boxes.remove(box) if box in self._boxes else None)

    def _forget_host_key(self) -> None:
        target = self.selected()
        if target is None or not self.store.can_write:
            return
        box = confirm(self, title="Forget host key",
                      text=f"Forget the trusted host key of {target.name}?",
                      detail="Do this only when you know the host's key changed for a good "
                             "reason (a reinstall). The next connection shows the new key's "
                             "fingerprint for you to check and accept.",
                      button="Forget", then=lambda: self.store.forget_host_key(target.id))
        self._boxes.append(box)
        box.finished.connect(lambda _r: self._boxes.remove(box) if box in self._boxes else None)

    def build_context_menu(self) -> QMenu:
        """The actions on the selected target (or the page's, on empty space)."""
        menu = QMenu(self)
        menu.setAccessibleName("Target actions")
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        target = self.selected()
        write, scan = self.store.can_write, self.store.can_scan
        if target is not None:
            add_action(menu, "Edit…", self._edit, enabled=write)
            add_action(menu, "Test connection", self._test, enabled=scan)
            add_action(menu, "Scan", self._scan, enabled=scan)
            menu.addSeparator()
            add_action(menu, "Copy host", lambda: _copy(host_text(target)))
            if target.kind is TargetKind.SSH:
                add_action(menu, "Forget host key…", self._forget_host_key, enabled=write)
            menu.addSeparator()
            add_action(menu, "Delete…", self._delete, enabled=write,
                       shortcut=QKeySequence.StandardKey.Delete)
            menu.addSeparator()
        add_action(menu, "Add target…", lambda: self.open_wizard(None), enabled=write)
        add_action(menu, "Refresh", self.refresh, shortcut=QKeySequence(Qt.Key.Key_F5))
        return menu

    def _test(self) -> None:
        target = self.selected()
        if target is not None:
            self.steps.clear()
            self.test_summary.setText("Testing…")
            self._track(self.store.test(target.id))

    def _scan(self) -> None:
        target = self.selected()
        if target is not None:
            self._track(self.store.scan(target.id))

    def _scan_all(self) -> None:
        self._track(self.store.scan_all())

    def _cancel(self) -> None:
        self.store.cancel("test")
        self.store.cancel("scan")

    def current_index(self) -> QModelIndex:
        return self.table.currentIndex()


def _copy(text: str) -> None:
    clipboard = QGuiApplication.clipboard()
    if clipboard is not None:
        clipboard.setText(text)
