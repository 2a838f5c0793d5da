"""The Activity page: the audit trail as a table, newest first, live.

Rows load lazily (the model's ``canFetchMore``/``fetchMore`` ask the store for the next
keyset page when the view reaches the bottom) and live events are prepended by the store
in one change per batch. The filter box searches event types and object ids on the
server; the combos filter by type, actor and time; "Show only this object" from the
context menu narrows to one object. Sorting is by any column over the loaded rows.
Ctrl+F focuses the filter, F5 reloads; column widths and sort order are remembered.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QSettings,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QTableView,
    QToolButton,
    QWidget,
)

from ...stores.activity import (
    ActivityEntry,
    ActivityStore,
    describe,
    event_label,
    object_label,
)
from ..models.base import ROW_ROLE, SORT_ROLE, Column, RowTableModel
from ..widgets.badge import BadgeDelegate
from ..widgets.list_tools import (
    NaturalOrderProxy,
    add_action,
    elided_tips,
    fit_columns,
    fit_placeholder,
    focus_filter,
    install_page_shortcuts,
    remember_header,
    selected_row,
)
from ..widgets.message_bar import MessageBar
from ..widgets.page_header import PageHeader, page_layout

Index = QModelIndex | QPersistentModelIndex

EVENT_COLUMN = 1
SETTINGS_HEADER = "activity/header"

TYPE_CHOICES = (
    ("All events", None),
    ("Deployments", "deployment."),
    ("Deployments finished", "deployment.finished"),
    ("Targets", "target."),
    ("Target status", "target.status_changed"),
    ("Stacks", "stack."),
    ("Users", "user."),
    ("Memberships", "membership."),
    ("Organization", "organization."),
)
TIME_CHOICES = (
    ("Any time", "any"),
    ("Last hour", "hour"),
    ("Last 24 hours", "day"),
    ("Last 7 days", "week"),
    ("Last 30 days", "month"),
)


def _when(e: ActivityEntry) -> str:
    return e.ts.astimezone().strftime("%Y-%m-%d %H:%M:%S")


COLUMNS: list[Column[ActivityEntry]] = [
    Column("When", _when, lambda e: e.ts.timestamp()),
    Column("Event", lambda e: event_label(e.type), lambda e: e.type),
    Column("Object", object_label, lambda e: object_label(e).lower()),
    Column("Details", describe, lambda e: describe(e).lower()),
    Column("By", lambda e: e.actor_name or "System", lambda e: (e.actor_name or "").lower()),
]


def tone(entry: ActivityEntry) -> str:
    """The badge tone of an entry (pure)."""
    d, t = entry.data, entry.type
    if t == "deployment.finished":
        return {"succeeded": "success", "failed": "error",
                "rolled_back": "warning"}.get(str(d.get("status")), "neutral")
    if t == "target.status_changed":
        to = str(d.get("to", d.get("status", "")))
        return "success" if to == "online" else "error" if to in ("offline", "error") else \
            "neutral"
    if t.endswith(("_failed", "_refused", "reuse_detected")):
        return "warning"
    if t.endswith(("created", "added", "imported")):
        return "info"
    if t.endswith(("deleted", "removed", "disabled", "archived")):
        return "neutral"
    return "running" if t.startswith("deployment.") else "neutral"


class ActivityModel(RowTableModel[ActivityEntry]):
    """Entries keyed by id; asks the store for older pages when the view needs rows.

    Rows only ever arrive at the top (live) or the bottom (older pages), so instead of
    the base class's key → position index, rebuilt on every prepend (O(rows) per batch,
    ~5 ms at 20,000 rows), each key gets a sequence number and position = seq - first:
    both ends cost only the rows added. Nothing is removed but by ``reset``.
    """

    def __init__(self, store: ActivityStore, parent: Any = None) -> None:
        super().__init__(COLUMNS, key=lambda e: e.id, parent=parent)
        self._store = store
        self._seq: dict[str, int] = {}
        self._first = 0

    def reset(self, rows: Iterable[ActivityEntry]) -> None:
        self.beginResetModel()
        self._rows = []
        self._seq = {}
        self._first = 0
        for entry in rows:
            if entry.id not in self._seq:
                self._seq[entry.id] = len(self._rows)
                self._rows.append(entry)
        self.endResetModel()

    def append(self, rows: Sequence[ActivityEntry]) -> None:
        fresh = self._fresh(rows)
        if not fresh:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
        base = self._first + first
        for offset, entry in enumerate(fresh):
            self._seq[entry.id] = base + offset
        self._rows.extend(fresh)
        self.endInsertRows()

    def prepend(self, rows: Sequence[ActivityEntry]) -> None:
        """Put ``rows`` (newest first) on top, in one insert."""
        fresh = self._fresh(rows)
        if not fresh:
            return
        self.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
        self._first -= len(fresh)
        for offset, entry in enumerate(fresh):
            self._seq[entry.id] = self._first + offset
        self._rows[:0] = fresh
        self.endInsertRows()

    def apply(self, upserts: Sequence[ActivityEntry] = (), removals: Iterable[Hashable] = (),
              *, prepend: bool = False) -> None:
        """Audit entries never change or go away: new ones go on top or at the end."""
        if prepend:
            self.prepend(upserts)
        else:
            self.append(upserts)

    def position(self, key: Hashable) -> int | None:
        seq = self._seq.get(key)  # type: ignore[call-overload]
        return None if seq is None else seq - self._first

    def _fresh(self, rows: Sequence[ActivityEntry]) -> list[ActivityEntry]:
        seen: set[str] = set()
        fresh = []
        for entry in rows:
            if entry.id not in self._seq and entry.id not in seen:
                seen.add(entry.id)
                fresh.append(entry)
        return fresh

    def canFetchMore(self, parent: Index) -> bool:
        return not parent.isValid() and self._store.has_more and not self._store.fetching

    def fetchMore(self, parent: Index) -> None:
        if not parent.isValid():
            self._store.fetch_more()

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (role == Qt.ItemDataRole.ToolTipRole and index.isValid()
                and index.row() < self.rowCount()):
            entry = self.row(index.row())
            return (f"{entry.type} · {entry.aggregate_type} {entry.aggregate_id}\n"
                    f"{describe(entry)}")
        return super().data(index, role)


class ActivityProxy(NaturalOrderProxy):
    """Sorts the loaded rows; "newest first" is the store's own order, so that sort is
    free (no comparisons when thousands of live rows arrive)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__((0, Qt.SortOrder.DescendingOrder), parent)


class ActivityPage(QWidget):
    """Signals:
    sig_open_object(str, str): open the object an entry is about (aggregate type, id).
    """

    sig_open_object = Signal(str, str)

    def __init__(self, store: ActivityStore, ui_settings: QSettings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self._settings = ui_settings
        self._object_text = ""
        self.setAccessibleName("Activity page")

        self.header = PageHeader("Activity", "Who did what, when, and to which object.")
        self.subtitle = self.header.subtitle
        self.message_bar = MessageBar()
        self.message_bar.bind(store)

        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by event type or object id  (Ctrl+F)")
        self.filter_edit.setAccessibleName("Filter activity")
        self.filter_edit.setClearButtonEnabled(True)
        fit_placeholder(self.filter_edit)
        self.type_combo = QComboBox()
        self.type_combo.setAccessibleName("Event type")
        for text, prefix in TYPE_CHOICES:
            self.type_combo.addItem(text, prefix)
        self.actor_combo = QComboBox()
        self.actor_combo.setAccessibleName("Actor")
        self.actor_combo.setMinimumContentsLength(12)
        self.actor_combo.addItem("Anyone", None)
        self.time_combo = QComboBox()
        self.time_combo.setAccessibleName("Time range")
        for text, key in TIME_CHOICES:
            self.time_combo.addItem(text, key)
        self.object_chip = QToolButton()
        self.object_chip.setAccessibleName("Clear object filter")
        self.object_chip.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.object_chip.hide()
        self.clear_button = QPushButton("Clear filters")
        self.clear_button.setAccessibleName("Clear filters")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setAccessibleName("Refresh activity")
        self.refresh_button.setToolTip("Reload the activity (F5)")

        self.model = ActivityModel(store, self)
        self.proxy = ActivityProxy(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setAccessibleName("Activity events")
        self.table.setModel(self.proxy)
        self.table.setItemDelegateForColumn(EVENT_COLUMN, BadgeDelegate(tone, self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(28)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((150, 190, 190, 360)):
            header.resizeSection(column, width)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.header_memory = remember_header(self.table, ui_settings, SETTINGS_HEADER)
        self.column_fit = fit_columns(self.table, memory=self.header_memory)
        elided_tips(self.table, middle=False)

        self.empty_label = QLabel("No activity matches these filters.")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.hide()
        self.status_label = QLabel("")
        self.status_label.setAccessibleName("Activity status")

        tools = QHBoxLayout()
        tools.addWidget(self.filter_edit, 1)
        tools.addWidget(self.type_combo)
        tools.addWidget(self.actor_combo)
        tools.addWidget(self.time_combo)
        tools.addWidget(self.object_chip)
        tools.addWidget(self.clear_button)
        tools.addWidget(self.refresh_button)
        layout = page_layout(self, self.header)
        layout.addWidget(self.message_bar)
        layout.addLayout(tools)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.status_label)

        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(250)
        self._search_timer.timeout.connect(self._apply_search)
        self.shortcuts = install_page_shortcuts(self, filter_edit=self.filter_edit,
                                                refresh=self.refresh)

        self.filter_edit.textChanged.connect(lambda _t: self._search_timer.start())
        self.filter_edit.returnPressed.connect(self._apply_search)
        self.type_combo.activated.connect(
            lambda _i: store.set_filters(type_prefix=self.type_combo.currentData()))
        self.actor_combo.activated.connect(
            lambda _i: store.set_filters(actor_id=self.actor_combo.currentData()))
        self.time_combo.activated.connect(
            lambda _i: store.set_filters(time_range=self.time_combo.currentData()))
        self.object_chip.clicked.connect(lambda: store.set_filters(aggregate_id=None))
        self.clear_button.clicked.connect(self.clear_filters)
        self.refresh_button.clicked.connect(self.refresh)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.activated.connect(self._open_index)

        store.sig_rows_reset.connect(self._on_reset)
        store.sig_rows_appended.connect(self._on_appended)
        store.sig_rows_prepended.connect(self._on_prepended)
        store.sig_filters_changed.connect(self._sync_filters)
        store.sig_actors_changed.connect(self._fill_actors)
        store.sig_busy_changed.connect(lambda _b: self._update_status())
        self._fill_actors()
        self._on_reset()

    # -- public ------------------------------------------------------------------------

    def focus_filter(self) -> None:
        focus_filter(self.filter_edit)

    def refresh(self) -> None:
        self.message_bar.clear()
        self.store.load()

    def clear_filters(self) -> None:
        self.filter_edit.blockSignals(True)
        self.filter_edit.clear()
        self.filter_edit.blockSignals(False)
        self._search_timer.stop()
        self._object_text = ""
        self.store.clear_filters()

    def show_object(self, aggregate_type: str, aggregate_id: str, label: str = "") -> None:
        """Narrow the trail to one object (other pages may call this)."""
        self._object_text = label or f"{aggregate_type} {aggregate_id[:8]}"
        self.store.set_filters(aggregate_id=aggregate_id)

    def selected(self) -> ActivityEntry | None:
        return selected_row(self.table, ActivityEntry)

    def save_state(self) -> None:
        self.header_memory.save()

    # -- store → widgets -----------------------------------------------------------------

    def _on_reset(self) -> None:
        self.model.reset(self.store.rows)
        self._update_status()

    def _on_appended(self, rows: tuple[ActivityEntry, ...]) -> None:
        self.model.append(rows)
        self._update_status()

    def _on_prepended(self, rows: tuple[ActivityEntry, ...]) -> None:
        self.model.prepend(rows)
        self._update_status()

    def _update_status(self) -> None:
        count = self.model.rowCount()
        loaded = self.store.loaded
        self.empty_label.setVisible(loaded and count == 0 and not self.store.busy)
        if not loaded or (self.store.busy and count == 0):
            text = "Loading…"
        elif self.store.has_more:
            text = f"{count:,} events loaded · scroll down for older ones"
        else:
            text = f"{count:,} event{'s' if count != 1 else ''}"
        self.status_label.setText(text)

    def _sync_filters(self) -> None:
        f = self.store.filters
        self._select(self.type_combo, f.type_prefix)
        self._select(self.actor_combo, f.actor_id)
        self._select(self.time_combo, self.store.time_range)
        if f.aggregate_id:
            text = self._object_text or f.aggregate_id[:8]
            self.object_chip.setText(f"Object: {text}  ✕")
            self.object_chip.setToolTip(f"Showing only {f.aggregate_id}; click to show all")
            self.object_chip.show()
        else:
            self._object_text = ""
            self.object_chip.hide()
        self.clear_button.setEnabled(f.active or bool(self.store.search)
                                     or self.store.time_range != "any")

    def _fill_actors(self) -> None:
        current = self.store.filters.actor_id
        self.actor_combo.clear()
        self.actor_combo.addItem("Anyone", None)
        for actor in self.store.actors:
            self.actor_combo.addItem(actor.name, actor.id)
        self._select(self.actor_combo, current)
        self._sync_filters()

    @staticmethod
    def _select(combo: QComboBox, value: object) -> None:
        index = combo.findData(value)
        combo.setCurrentIndex(max(index, 0))

    def _apply_search(self) -> None:
        self._search_timer.stop()
        self.store.set_search(self.filter_edit.text())

    # -- context menu ----------------------------------------------------------------

    def _context_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        entry = index.data(ROW_ROLE) if index.isValid() else None
        menu = self.build_context_menu(entry if isinstance(entry, ActivityEntry) else None)
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def build_context_menu(self, entry: ActivityEntry | None) -> QMenu:
        menu = QMenu(self)
        menu.setAccessibleName("Activity actions")
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if entry is not None:
            label = object_label(entry)
            self._action(menu, f"Open {label}", lambda: self._open(entry))
            menu.addSeparator()
            self._action(menu, f"Show only {label}", lambda: self.show_object(
                entry.aggregate_type, entry.aggregate_id, label))
            if entry.actor_id is not None:
                actor: uuid.UUID = entry.actor_id
                self._action(menu, f"Show only by {entry.actor_name}",
                             lambda: self.store.set_filters(actor_id=actor))
            self._action(menu, f"Show only “{event_label(entry.type)}”",
                         lambda: self.store.set_filters(type_prefix=entry.type))
            menu.addSeparator()
            self._action(menu, "Copy details", lambda: _copy(
                f"{_when(entry)}\t{entry.type}\t{label}\t{describe(entry)}\t"
                f"{entry.actor_name or 'System'}"))
            self._action(menu, "Copy object id", lambda: _copy(entry.aggregate_id))
            menu.addSeparator()
        clear = self._action(menu, "Clear filters", self.clear_filters)
        clear.setEnabled(self.clear_button.isEnabled())
        self._action(menu, "Refresh", self.refresh).setShortcut(QKeySequence.StandardKey.Refresh)
        return menu

    @staticmethod
    def _action(menu: QMenu, text: str, slot: Any) -> QAction:
        return add_action(menu, text, slot)

    def _open_index(self, index: QModelIndex) -> None:
        entry = index.data(ROW_ROLE)
        if isinstance(entry, ActivityEntry):
            self._open(entry)

    def _open(self, entry: ActivityEntry) -> None:
        self.sig_open_object.emit(entry.aggregate_type, entry.aggregate_id)


def _copy(text: str) -> None:
    clipboard = QGuiApplication.clipboard()
    if clipboard is not None:
        clipboard.setText(text)
