"""The Dashboard page: the organization at a glance, live.

Cards with the counts (targets online and offline, stacks, deployments running and
failed in the last 24 hours), the recent deployments with status badges, the targets'
health worst first, and the recent activity. Everything comes from ``DashboardStore``;
the tables are small row models that change row by row (insert, move, update, remove)
when the store's summary changes, so a selection survives a live update. Opening a card
or a row (double-click, Enter) asks the window to show that object. Each table's column
widths are remembered in the window's ``QSettings`` like a list page's header.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from PySide6.QtCore import QEvent, QModelIndex, QSettings, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QKeySequence, QMouseEvent, QPalette, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTableView,
    QWidget,
)

from ...domain.enums import DeploymentStatus, TargetKind, TargetStatus
from ...domain.words import plural
from ...stores.activity import ActivityEntry, describe, event_label
from ...stores.adopt import AdoptStore
from ...stores.dashboard import DashboardStore, RecentDeployment, TargetHealth
from ...stores.sweeps import TargetSweep
from ...stores.updates import DriftStore, UpdatesStore
from ..models.base import ROW_ROLE, Column, RowTableModel
from ..theme import set_font, theme_for
from ..widgets.badge import BadgeDelegate
from ..widgets.layouts import vbox
from ..widgets.list_tools import remember_header
from ..widgets.message_bar import MessageBar
from ..widgets.page_header import PageHeader, page_layout
from .activity import tone as activity_tone
from .keep_changes import KeepChangesButton

R = TypeVar("R")

DEPLOYMENT_TONES = {
    DeploymentStatus.SUCCEEDED: "success", DeploymentStatus.FAILED: "error",
    DeploymentStatus.ROLLED_BACK: "warning", DeploymentStatus.RUNNING: "running",
    DeploymentStatus.PENDING: "info",
}
TARGET_TONES = {TargetStatus.ONLINE: "success", TargetStatus.OFFLINE: "warning",
                TargetStatus.ERROR: "error", TargetStatus.UNKNOWN: "neutral"}
KIND_LABEL = {TargetKind.LOCAL: "this computer", TargetKind.SSH: "SSH",
              TargetKind.DOCKER_TCP: "TCP+TLS"}
SETTINGS_RECENT_HEADER = "dashboard/recent"
SETTINGS_HEALTH_HEADER = "dashboard/health"
SETTINGS_ACTIVITY_HEADER = "dashboard/activity"


def _status_words(value: str) -> str:
    return value.replace("_", " ")


def _when(ts: datetime | None) -> str:
    if ts is None:
        return "never"
    local = ts.astimezone()
    return local.strftime("%b %d, %H:%M")


def deployment_tone(row: RecentDeployment) -> str:
    return DEPLOYMENT_TONES.get(row.status, "neutral")


def target_tone(row: TargetHealth) -> str:
    return TARGET_TONES.get(row.status, "neutral")


def _deployment_status(d: RecentDeployment) -> str:
    if d.status is DeploymentStatus.RUNNING and d.stage is not None:
        return f"running · {d.stage.value}"
    return _status_words(d.status.value)


def _where(h: TargetHealth) -> str:
    return h.host or KIND_LABEL.get(h.kind, h.kind.value)


DEPLOYMENT_COLUMNS: list[Column[RecentDeployment]] = [
    Column("Status", _deployment_status),
    Column("Stack", lambda d: d.stack_name),
    Column("Target", lambda d: d.target_name),
    Column("Started", lambda d: _when(d.created_at)),
]
HEALTH_COLUMNS: list[Column[TargetHealth]] = [
    Column("Status", lambda h: h.status.value),
    Column("Target", lambda h: h.name),
    Column("Host", _where),
    Column("Last seen", lambda h: _when(h.last_seen)),
]
ACTIVITY_COLUMNS: list[Column[ActivityEntry]] = [
    Column("When", lambda e: _when(e.ts)),
    Column("Event", lambda e: event_label(e.type)),
    Column("Details", describe),
    Column("By", lambda e: e.actor_name or "System"),
]


class SummaryTableModel(RowTableModel[R]):
    """A short list kept equal to the store's, with exact row changes: ``sync(rows)``
    removes what went, inserts what came, moves what moved and updates what changed."""

    def __init__(self, columns: Sequence[Column[R]], key: Callable[[R], Hashable],
                 tooltip: Callable[[R], str] | None = None, parent: Any = None) -> None:
        super().__init__(columns, key, parent)
        self._tooltip = tooltip

    def sync(self, rows: Sequence[R]) -> None:
        want = self._unique(rows)
        keys = [self._key(r) for r in want]
        keep = set(keys)
        self._remove([k for k in self._index if k not in keep])
        last_column = self.columnCount() - 1
        for i, (key, row) in enumerate(zip(keys, want, strict=True)):
            pos = self._index.get(key)
            if pos is None:
                self.beginInsertRows(QModelIndex(), i, i)
                self._rows.insert(i, row)
                self._reindex()
                self.endInsertRows()
                continue
            if pos != i:  # rows before i are settled, so pos > i
                self.beginMoveRows(QModelIndex(), pos, pos, QModelIndex(), i)
                self._rows.insert(i, self._rows.pop(pos))
                self._reindex()
                self.endMoveRows()
            if self._rows[i] != row:
                self._rows[i] = row
                self.dataChanged.emit(self.index(i, 0), self.index(i, last_column))

    def data(self, index: Any, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (role == Qt.ItemDataRole.ToolTipRole and self._tooltip is not None
                and index.isValid() and index.row() < self.rowCount()):
            return self._tooltip(self.row(index.row()))
        return super().data(index, role)


def _deployment_tip(d: RecentDeployment) -> str:
    text = f"{d.stack_name} on {d.target_name}: {_status_words(d.status.value)}"
    return f"{text}\n{d.error}" if d.error else text


def _health_tip(h: TargetHealth) -> str:
    return f"{h.name} ({_where(h)}) is {h.status.value}; last seen {_when(h.last_seen)}"


class StatCard(QFrame):
    """A count with a caption; clicking it (or Enter/Space) emits ``sig_clicked``.

    Signals:
    sig_clicked(): the card was activated.
    """

    sig_clicked = Signal()

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._title = title
        self._tone = "neutral"
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setBackgroundRole(QPalette.ColorRole.Base)
        self.setAutoFillBackground(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName(title)
        self.title_label = QLabel(title)
        self.value_label = QLabel("…")
        set_font(self.value_label, pixel_size=28, bold=True)
        self.caption_label = QLabel("")
        self.caption_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        vbox(self, self.title_label, self.value_label, self.caption_label,
             margins=(14, 10, 14, 10), spacing=2)

    @property
    def value(self) -> str:
        return self.value_label.text()

    def set_value(self, value: str, caption: str = "", tone: str = "neutral") -> None:
        self.value_label.setText(value)
        self.caption_label.setText(caption)
        self._tone = tone
        self._paint_tone()
        self.setAccessibleDescription(f"{value} {caption}".strip())
        self.setToolTip(f"{self._title}: {value}" + (f" ({caption})" if caption else ""))

    def _paint_tone(self) -> None:
        # Colour from the palette's theme: it must follow a light/dark switch.
        palette = QPalette(self.value_label.palette())
        if self._tone == "neutral":
            color = self.palette().color(QPalette.ColorRole.WindowText)
        else:
            color = QColor(theme_for(self.palette()).badge(self._tone)[1])
        palette.setColor(QPalette.ColorRole.WindowText, color)
        self.value_label.setPalette(palette)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "value_label"):
            self._paint_tone()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(
                event.position().toPoint()):
            self.sig_clicked.emit()
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.sig_clicked.emit()
            return
        super().keyPressEvent(event)


def _table(name: str, model: RowTableModel[Any], widths: Sequence[int],
           stretch: int) -> QTableView:
    """A compact read-only table: ``widths`` per column (pixels), except the ``stretch``
    column, which takes the room left (no horizontal scroll bar; long text is elided)."""
    table = QTableView()
    table.setAccessibleName(name)
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.setTextElideMode(Qt.TextElideMode.ElideRight)
    table.setAlternatingRowColors(True)
    table.setCornerButtonEnabled(False)
    table.setShowGrid(False)
    table.setWordWrap(False)
    table.verticalHeader().hide()
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    table.verticalHeader().setDefaultSectionSize(28)
    header = table.horizontalHeader()
    header.setHighlightSections(False)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setStretchLastSection(False)
    for column, width in enumerate(widths):
        if column == stretch:
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        else:
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, width)
    return table


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    set_font(label, bold=True)
    return label


class DashboardPage(QWidget):
    """Signals:
    sig_open_object(str, str): show an object (aggregate type, id; "" for the list).
    """

    sig_open_object = Signal(str, str)

    def __init__(self, store: DashboardStore, ui_settings: QSettings | None = None,
                 parent: QWidget | None = None, *,
                 updates: UpdatesStore | None = None,
                 drift: DriftStore | None = None,
                 adopt: AdoptStore | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setAccessibleName("Dashboard page")

        self.header = PageHeader("Dashboard", "Loading…")
        self.subtitle = self.header.subtitle
        self.subtitle.setAccessibleName("Dashboard status")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setAccessibleName("Refresh dashboard")
        self.refresh_button.setToolTip("Reload the dashboard (F5)")
        self.message_bar = MessageBar()
        self.message_bar.bind(store)

        self.online_card = StatCard("Targets online")
        self.offline_card = StatCard("Targets offline")
        self.stacks_card = StatCard("Stacks")
        self.running_card = StatCard("In progress")
        self.failed_card = StatCard("Failed in 24 hours")
        self.cards = (self.online_card, self.offline_card, self.stacks_card,
                      self.running_card, self.failed_card)
        card_targets = ("target", "target", "stack", "deployment", "deployment")
        for card, kind in zip(self.cards, card_targets, strict=True):
            card.sig_clicked.connect(lambda kind=kind: self.sig_open_object.emit(kind, ""))

        self.deployments_model: SummaryTableModel[RecentDeployment] = SummaryTableModel(
            DEPLOYMENT_COLUMNS, key=lambda d: d.id, tooltip=_deployment_tip, parent=self)
        self.health_model: SummaryTableModel[TargetHealth] = SummaryTableModel(
            HEALTH_COLUMNS, key=lambda h: h.id, tooltip=_health_tip, parent=self)
        self.activity_model: SummaryTableModel[ActivityEntry] = SummaryTableModel(
            ACTIVITY_COLUMNS, key=lambda e: e.id, tooltip=describe, parent=self)
        self.deployments_table = _table("Recent deployments", self.deployments_model,
                                        (130, 0, 150, 110), stretch=1)
        self.deployments_table.setItemDelegateForColumn(
            0, BadgeDelegate(deployment_tone, self.deployments_table))
        self.health_table = _table("Target health", self.health_model, (84, 120, 0, 110),
                                   stretch=2)
        self.health_table.setItemDelegateForColumn(
            0, BadgeDelegate(target_tone, self.health_table))
        self.health_table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # hosts: both ends
        self.activity_table = _table("Recent activity", self.activity_model,
                                     (110, 170, 0, 110), stretch=2)
        self.activity_table.setItemDelegateForColumn(
            1, BadgeDelegate(activity_tone, self.activity_table))
        for table in (self.deployments_table, self.health_table, self.activity_table):
            table.activated.connect(self._open_row)  # double-click or Enter
        self.header_memories = (
            remember_header(self.deployments_table, ui_settings, SETTINGS_RECENT_HEADER),
            remember_header(self.health_table, ui_settings, SETTINGS_HEALTH_HEADER),
            remember_header(self.activity_table, ui_settings, SETTINGS_ACTIVITY_HEADER),
        )

        self.deployments_empty = QLabel("No deployments yet.")
        self.health_empty = QLabel("No targets yet: add one on the Targets page.")
        self.activity_empty = QLabel("Nothing has happened yet.")
        for label in (self.deployments_empty, self.health_empty, self.activity_empty):
            label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
            label.hide()

        # "Keep changes…" where drift is shown (keep_changes.py); put back: Deployments.
        self.keep_button = KeepChangesButton(drift, adopt, self.message_bar) \
            if drift is not None and adopt is not None else None
        if self.keep_button is not None:
            self.header.add_button(self.keep_button)
        self.header.add_button(self.refresh_button)
        cards = QHBoxLayout()
        cards.setSpacing(10)
        for card in self.cards:
            cards.addWidget(card)
        self.updates_card = StatCard("Image updates")
        self.drift_card = StatCard("Changed by hand")
        self._sweeps: list[tuple[StatCard, TargetSweep[Any] | None, str, str]] = [
            (self.updates_card, updates, "image", "behind their tag"),
            (self.drift_card, drift, "deployment", "differ from what was deployed")]
        for card, sweep, _noun, _what in self._sweeps:
            card.setVisible(sweep is not None)
            if sweep is not None:
                cards.addWidget(card)
                card.sig_clicked.connect(sweep.check_now)
                sweep.sig_results_changed.connect(self._show_sweeps)
                sweep.sig_busy_changed.connect(lambda _b: self._show_sweeps())
        self._show_sweeps()
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(6)
        grid.addWidget(_heading("Recent deployments"), 0, 0)
        grid.addWidget(self.deployments_empty, 1, 0)
        grid.addWidget(self.deployments_table, 2, 0)
        grid.addWidget(_heading("Target health"), 0, 1)
        grid.addWidget(self.health_empty, 1, 1)
        grid.addWidget(self.health_table, 2, 1, 4, 1)
        grid.addWidget(_heading("Recent activity"), 3, 0)
        grid.addWidget(self.activity_empty, 4, 0)
        grid.addWidget(self.activity_table, 5, 0)
        grid.setColumnStretch(0, 5)
        grid.setColumnStretch(1, 4)
        grid.setRowStretch(2, 1)
        grid.setRowStretch(5, 1)
        layout = page_layout(self, self.header)
        layout.addWidget(self.message_bar)
        layout.addLayout(cards)
        layout.addLayout(grid, 1)

        self.refresh_button.clicked.connect(store.load)
        shortcut = QShortcut(QKeySequence(Qt.Key.Key_F5), self)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(store.load)
        store.sig_summary_changed.connect(self._show)
        store.sig_busy_changed.connect(self._busy)
        self._show()

    # -- store → widgets -------------------------------------------------------------

    def _busy(self, busy: bool) -> None:
        self.refresh_button.setEnabled(not busy)

    def _show(self) -> None:
        s = self.store.summary
        if s is None:
            self.subtitle.setText("Loading…")
            for card in self.cards:
                card.set_value("…")
            for model in (self.deployments_model, self.health_model, self.activity_model):
                model.sync(())
            return
        updated = s.generated_at.astimezone().strftime("%H:%M:%S")
        self.subtitle.setText(f"Your organization at a glance · updated {updated}")
        t = s.targets
        down = t.offline + t.error
        self.online_card.set_value(
            f"{t.online} / {t.total}", f"{t.unknown} not checked yet" if t.unknown else
            "all reachable" if t.total and not down else "",
            "success" if t.total and t.online == t.total else "neutral")
        self.offline_card.set_value(
            str(down), f"{t.offline} offline, {t.error} in error" if down else "none",
            "error" if down else "neutral")
        self.stacks_card.set_value(str(s.stacks), "active stacks")
        running = s.deployments_running
        self.running_card.set_value(str(running), (
            f"{plural(running, 'deployment')} pending or running" if running
            else "no deployment pending or running"), "running" if running else "neutral")
        self.failed_card.set_value(str(s.failed_24h), f"{s.succeeded_24h} succeeded",
                                   "error" if s.failed_24h else "neutral")
        self.deployments_model.sync(s.recent_deployments)
        self.health_model.sync(s.health)
        self.activity_model.sync(s.activity)
        self.deployments_empty.setVisible(not s.recent_deployments)
        self.health_empty.setVisible(not s.health)
        self.activity_empty.setVisible(not s.activity)

    # -- widgets → window ------------------------------------------------------------

    def _show_sweeps(self) -> None:
        """Images with a newer one behind their tag, deployments changed by hand (click:
        check now; the tooltip says which)."""
        for card, sweep, noun, what in self._sweeps:
            if sweep is None:
                continue
            if sweep.busy:
                card.set_value("…", "checking")
                continue
            if not sweep.results and not sweep.problems:
                card.set_value("?", "not checked yet: click to check")
                continue
            found = sweep.findings()
            count = len(found)
            caption = "click to check again" if count == 0 else \
                f"{count} {noun}{'s' if count != 1 else ''} {what}"
            if sweep.problems:
                caption += f"; {len(sweep.problems)} target(s) not checked"
            card.set_value(str(count), caption, "warning" if count else "success")
            lines = sorted({sweep.words(result) for _t, result in found})
            card.setToolTip("\n".join(lines) if lines else caption)

    def _open_row(self, index: QModelIndex) -> None:
        row = index.data(ROW_ROLE)
        if isinstance(row, RecentDeployment):
            self.sig_open_object.emit("deployment", str(row.id))
        elif isinstance(row, TargetHealth):
            self.sig_open_object.emit("target", str(row.id))
        elif isinstance(row, ActivityEntry):
            self.sig_open_object.emit(row.aggregate_type, row.aggregate_id)
