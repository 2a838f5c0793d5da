"""The Containers page: pick a target, see its containers grouped by compose project,
start/stop/restart/remove them, and follow a container's logs live in the log viewer.

It binds to ``ContainersStore`` (and reads the target list from ``TargetsStore``). The
tree filters as you type (a project stays when one of its containers matches), sorts,
shows the state as a badge, has a context menu and remembers its columns; Ctrl+F focuses
the filter, F5 refreshes, Delete (in the tree) asks before removing the container.
"""

from __future__ import annotations

import uuid
from functools import partial

from PySide6.QtCore import QModelIndex, QSettings, QSortFilterProxyModel, Qt
from PySide6.QtGui import (
    QGuiApplication,
    QHideEvent,
    QKeySequence,
    QShowEvent,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTreeView,
    QWidget,
)

from ...domain.models import Target
from ...domain.words import plural
from ...stores.adopt import AdoptStore
from ...stores.container_detail import ContainerDetailStore
from ...stores.containers import ContainerInfo, ContainersStore
from ...stores.stats import HISTORY, StatsStore
from ...stores.targets import TargetsStore
from ...stores.terminal import TerminalStore
from ..dialogs.terminal import TerminalDialog
from ..models.base import ROW_ROLE, SORT_ROLE
from ..widgets.badge import BadgeDelegate
from ..widgets.list_tools import (
    add_action,
    confirm,
    fit_placeholder,
    install_context_menu,
    install_page_shortcuts,
    remember_header,
)
from ..widgets.log_view import LogView
from ..widgets.message_bar import MessageBar
from ..widgets.page_header import PageHeader, page_layout
from ..widgets.stats_chart import StatsChart
from ..widgets.target_picker import first_online, refill_targets
from .container_detail import ContainerDetailPanel
from .container_stats import STATS_HEADERS, LiveStats
from .unmanaged import UnmanagedPanel

CONTAINER_ROLE = Qt.ItemDataRole.UserRole + 10
HEADERS = ["Name", "Image", "State", "Status", "Ports", *STATS_HEADERS]
CPU_COLUMN = 5
STATE_MARK = {"running": "●", "exited": "○", "created": "○", "paused": "◐",
              "restarting": "◌", "dead": "✖"}
STATE_COLUMN = 2
SETTINGS_HEADER = "containers/header"
ACTION_NAMES = {"start": "Start container", "stop": "Stop container",
                "restart": "Restart container", "remove": "Remove container"}


def tone(c: ContainerInfo) -> str:
    """The badge tone of a container's state (pure)."""
    if c.state == "exited":
        return "neutral" if "(0)" in c.status else "error"
    return {"running": "success", "paused": "warning", "restarting": "running",
            "dead": "error", "created": "info"}.get(c.state, "neutral")


class ContainersPage(QWidget):
    def __init__(self, store: ContainersStore, targets: TargetsStore,
                 ui_settings: QSettings | None = None, parent: QWidget | None = None, *,
                 detail: ContainerDetailStore | None = None,
                 terminal: TerminalStore | None = None,
                 stats: StatsStore | None = None,
                 adopt: AdoptStore | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.targets = targets
        self.terminal = terminal
        self.setAccessibleName("Containers page")
        self.confirm_box: QMessageBox | None = None
        self.header = PageHeader("Containers",
                                 "The containers on each target, their state and logs.")
        self.messages = MessageBar()
        self.target_combo = QComboBox()
        self.target_combo.setAccessibleName("Target")
        self.target_combo.setMinimumWidth(220)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setAccessibleName("Refresh containers")
        self.refresh_button.setToolTip("List the target's containers again (F5)")
        self.buttons = {action: QPushButton(action.capitalize())
                        for action in ("start", "stop", "restart", "remove")}
        self.buttons["remove"].setText("Remove…")
        for action, button in self.buttons.items():
            button.setAccessibleName(ACTION_NAMES[action])
        self.logs_button = QPushButton("Follow logs")
        self.logs_button.setAccessibleName("Follow container logs")
        self.stop_logs_button = QPushButton("Stop logs")
        self.stop_logs_button.setAccessibleName("Stop following logs")
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter containers  (Ctrl+F)")
        fit_placeholder(self.filter)
        self.filter.setAccessibleName("Filter containers")
        self.filter.setClearButtonEnabled(True)
        self.filter.setMaximumWidth(360)
        self.summary = QLabel("")
        self.summary.setAccessibleName("Summary")

        self.model = QStandardItemModel(0, len(HEADERS), self)
        self.model.setHorizontalHeaderLabels(HEADERS)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setRecursiveFilteringEnabled(True)
        self.tree = QTreeView()
        self.tree.setAccessibleName("Containers")
        self.tree.setModel(self.proxy)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setItemDelegateForColumn(STATE_COLUMN, BadgeDelegate(tone, self.tree))
        for column, width in ((0, 230), (1, 200), (2, 100), (3, 170)):
            self.tree.setColumnWidth(column, width)
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.header_memory = remember_header(self.tree, ui_settings, SETTINGS_HEADER)
        self.log_view = LogView("Logs")
        self.stats_chart = StatsChart(HISTORY)
        # Live CPU/memory columns and the chart stream only while the page is shown.
        self.live = LiveStats(stats, self.model, self.tree, self.stats_chart,
                              container_role=CONTAINER_ROLE, cpu_column=CPU_COLUMN
                              ) if stats is not None else None
        self.stats_chart.setVisible(self.live is not None)

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Target"))
        bar.addWidget(self.target_combo)
        bar.addWidget(self.refresh_button)
        bar.addSpacing(16)
        for button in self.buttons.values():
            bar.addWidget(button)
        bar.addWidget(self.logs_button)
        bar.addWidget(self.stop_logs_button)
        bar.addStretch(1)
        find = QHBoxLayout()  # a row of its own: the action row is full at 1280 px
        find.addWidget(self.filter)
        find.addStretch(1)
        find.addWidget(self.summary)
        splitter = QSplitter(Qt.Orientation.Vertical)
        # The selected container's detail beside the list (container_detail.py).
        self.detail_panel = ContainerDetailPanel(detail) if detail is not None else None
        if self.detail_panel is not None:
            top = QSplitter(Qt.Orientation.Horizontal)
            top.addWidget(self.tree)
            top.addWidget(self.detail_panel)
            top.setStretchFactor(0, 3)
            top.setStretchFactor(1, 2)
            splitter.addWidget(top)
            self.detail_panel.follow(self._selected_ids)
            self.tree.selectionModel().currentChanged.connect(
                self.detail_panel.selection_changed)
            store.sig_containers_changed.connect(self.detail_panel.selection_changed)
        else:
            splitter.addWidget(self.tree)
        # What runs here outside WindFlow, with "Adopt…" (unmanaged.py).
        self.unmanaged = UnmanagedPanel(adopt) if adopt is not None else None
        if self.unmanaged is not None:
            splitter.addWidget(self.unmanaged)
        splitter.addWidget(self.stats_chart)
        splitter.addWidget(self.log_view)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(2, 2)
        layout = page_layout(self, self.header)
        layout.addWidget(self.messages)
        layout.addLayout(bar)
        layout.addLayout(find)
        layout.addWidget(splitter, 1)

        self.target_combo.currentIndexChanged.connect(self._on_target)
        self.refresh_button.clicked.connect(store.refresh)
        for action, button in self.buttons.items():
            button.clicked.connect(lambda _c=False, a=action: self._act(a))
        self.logs_button.clicked.connect(self._follow)
        self.stop_logs_button.clicked.connect(store.stop_logs)
        self.tree.selectionModel().selectionChanged.connect(self._update_actions)
        self.tree.doubleClicked.connect(lambda _i: self._follow())
        install_context_menu(self.tree, self.build_context_menu)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        # Every top-level row is a project heading spanning the tree, wherever sorting or
        # filtering puts it.
        self.proxy.layoutChanged.connect(self._span_heads)
        self.proxy.rowsInserted.connect(self._span_heads)
        self.proxy.modelReset.connect(self._span_heads)
        self.shortcuts = install_page_shortcuts(
            self, filter_edit=self.filter, refresh=self.refresh, delete=self.confirm_remove,
            list_view=self.tree)
        store.sig_containers_changed.connect(self._rebuild)
        store.sig_log_started.connect(self._log_started)
        store.sig_log_lines.connect(self.log_view.append_lines)
        store.sig_log_ended.connect(self._log_ended)
        store.sig_error.connect(self.messages.show_error)
        targets.sig_targets_reset.connect(self._fill_targets)
        targets.sig_targets_applied.connect(lambda _u, _r: self._fill_targets())
        self._fill_targets()
        self._rebuild()

    # -- targets ---------------------------------------------------------------------------

    def _fill_targets(self) -> None:
        had_choice = self.target_combo.currentData() is not None
        index = refill_targets(self.target_combo, self.targets.targets)
        if index is not None and index < 0 and self.target_combo.count() and not had_choice:
            # Start where containers can be listed: the first target that is online.
            self.target_combo.setCurrentIndex(first_online(self.target_combo,
                                                           self.targets.targets))

    def select_target(self, target_id: uuid.UUID) -> None:
        index = self.target_combo.findData(str(target_id))
        if index >= 0:
            self.target_combo.setCurrentIndex(index)

    def _on_target(self, index: int) -> None:
        data = self.target_combo.itemData(index) if index >= 0 else None
        target_id = uuid.UUID(data) if data else None
        self.log_view.clear()
        self.store.select_target(target_id)
        if self.unmanaged is not None:
            self.unmanaged.store.select_target(target_id)
        if self.live is not None and self.isVisible():
            self.live.follow(target_id)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.live is not None:
            self.live.follow(self.store.target_id)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        if self.live is not None:
            self.live.stop()

    # -- containers ------------------------------------------------------------------------

    def _rebuild(self) -> None:
        selected = self.selected()
        self.model.removeRows(0, self.model.rowCount())
        groups = self.store.by_project()
        running = sum(1 for c in self.store.containers if c.running)
        for project, containers in groups.items():
            label = project or "Not in a compose project"
            up = sum(1 for c in containers if c.running)
            head = QStandardItem(f"{label}  ({up}/{len(containers)} running)")
            head.setData(label.lower(), SORT_ROLE)
            head.setSelectable(False)
            font = head.font()
            font.setBold(True)
            head.setFont(font)
            fillers = [QStandardItem("") for _ in HEADERS[1:]]
            for item in fillers:
                item.setSelectable(False)
            for c in containers:
                cells = [
                    QStandardItem(f"{STATE_MARK.get(c.state, '?')} {c.service or c.name}"),
                    QStandardItem(c.image), QStandardItem(c.state), QStandardItem(c.status),
                    QStandardItem(", ".join(c.ports)), QStandardItem(), QStandardItem(),
                ]
                cells[0].setToolTip(f"{c.name} ({c.short_id})")
                live = self.live.sort_keys(c.id) if self.live is not None else (-1.0, -1.0)
                sort_keys = ((c.service or c.name).lower(), c.image, c.state, c.status,
                             cells[4].text(), *live)
                for cell, key in zip(cells, sort_keys, strict=True):
                    cell.setData(c, CONTAINER_ROLE)
                    cell.setData(c, ROW_ROLE)
                    cell.setData(key, SORT_ROLE)
                head.appendRow(cells)
            self.model.appendRow([head, *fillers])
        if self.live is not None:
            self.live.rows_rebuilt()
        self._span_heads()
        self.tree.expandAll()
        target = self._target()
        self.summary.setText(
            f"{plural(len(self.store.containers), 'container')}, {running} running" if target else
            "Choose a target")
        if selected is not None:
            self._reselect(selected.id)
        self._update_actions()

    def _target(self) -> Target | None:
        tid = self.store.target_id
        return self.targets.target(tid) if tid is not None else None

    def _reselect(self, container_id: str) -> None:
        for row in range(self.model.rowCount()):
            head = self.model.item(row, 0)
            for child in range(head.rowCount()):
                c = head.child(child, 0).data(CONTAINER_ROLE)
                if c is not None and c.id == container_id:
                    index = self.proxy.mapFromSource(self.model.indexFromItem(head.child(child, 0)))
                    if index.isValid():
                        self.tree.setCurrentIndex(index)
                    return

    def selected(self) -> ContainerInfo | None:
        index = self.tree.currentIndex()
        if not index.isValid():
            return None
        value = index.siblingAtColumn(0).data(CONTAINER_ROLE)
        return value if isinstance(value, ContainerInfo) else None

    def _selected_ids(self) -> tuple[uuid.UUID | None, str | None]:
        c = self.selected()
        return self.store.target_id, c.id if c is not None else None

    def _update_actions(self) -> None:
        c = self.selected()
        self.buttons["start"].setEnabled(c is not None and not c.running)
        self.buttons["stop"].setEnabled(c is not None and c.running)
        self.buttons["restart"].setEnabled(c is not None)
        self.buttons["remove"].setEnabled(c is not None)
        self.logs_button.setEnabled(c is not None)
        self.stop_logs_button.setEnabled(self.store.following is not None)

    def _span_heads(self, *_args: object) -> None:
        for row in range(self.proxy.rowCount()):
            self.tree.setFirstColumnSpanned(row, QModelIndex(), True)

    def refresh(self) -> None:
        self.messages.clear()
        self.store.refresh()
        if self.unmanaged is not None:
            self.unmanaged.store.refresh()

    def _act(self, action: str) -> None:
        c = self.selected()
        if c is None:
            return
        if action == "remove":
            self.confirm_remove()
        else:
            self.messages.clear_on_success(self.store.act(c.id, action), self.store)

    def confirm_remove(self) -> None:
        c = self.selected()
        if c is None:
            return
        self.confirm_box = confirm(
            self, title="Remove container", text=f"Remove the container {c.name}?",
            detail="It is stopped first if it runs. Its image and named volumes stay; a "
                   "deployment that owns it recreates it on its next start.",
            button="Remove", then=lambda: self.messages.clear_on_success(
                self.store.act(c.id, "remove"), self.store))

    def build_context_menu(self) -> QMenu:
        menu = QMenu(self)
        menu.setAccessibleName("Container actions")
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        c = self.selected()
        if c is not None:
            for action, button in self.buttons.items():
                entry = add_action(menu, button.text(), partial(self._act, action),
                                   enabled=button.isEnabled())
                if action == "remove":
                    entry.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
            add_action(menu, "Follow logs", self._follow)
            if self.terminal is not None and self.terminal.can_exec:
                add_action(menu, "Open terminal…", self.open_terminal, enabled=c.running)
            menu.addSeparator()
            container_id, name = c.id, c.name
            add_action(menu, "Copy name", lambda: _copy(name))
            add_action(menu, "Copy id", lambda: _copy(container_id))
            menu.addSeparator()
        add_action(menu, "Refresh", self.refresh, shortcut=QKeySequence(Qt.Key.Key_F5))
        return menu

    def open_terminal(self) -> TerminalDialog | None:
        """A shell in the selected container, in a window of its own."""
        c, target = self.selected(), self._target()
        if c is None or target is None or self.terminal is None:
            return None
        dialog = TerminalDialog(self.terminal, target.id, c.id, f"{c.name} on {target.name}",
                                parent=self)
        dialog.show()
        return dialog

    def _follow(self) -> None:
        c = self.selected()
        if c is not None:
            self.log_view.clear()
            self.log_view.title.setText(f"Logs — {c.name}")
            self.store.follow_logs(c.id)

    def _log_started(self, container_id: str) -> None:
        self.log_view.set_state("following live")
        self._update_actions()

    def _log_ended(self, container_id: str) -> None:
        self.log_view.set_state("stopped")
        self._update_actions()


def _copy(text: str) -> None:
    clipboard = QGuiApplication.clipboard()
    if clipboard is not None:
        clipboard.setText(text)
