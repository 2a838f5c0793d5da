"""The Deployments page: a filterable table that loads older pages as it scrolls
(``canFetchMore``/``fetchMore`` → keyset pages), and for the selected deployment a stage
stepper, its actions, and a log that follows live (batched appends; 100,000 lines stay
smooth). Everything goes through ``DeploymentsStore``. The table sorts the loaded rows
(newest first is the store's own order and costs nothing), has a context menu with the
actions, and remembers its columns; Ctrl+F focuses the search, F5 reloads, Delete (in the
table) asks before removing the deployment.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QSettings, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...domain.deployment_flow import Action, Standing
from ...domain.enums import DeploymentStatus
from ...domain.models import Deployment, DeploymentStageRecord
from ...domain.words import words
from ...stores.deployments import DeploymentsStore
from ..models.base import ROW_ROLE, SORT_ROLE, Column, RowTableModel
from ..theme import set_font
from ..widgets.badge import BadgeDelegate
from ..widgets.deployment_log import LogPanel
from ..widgets.list_tools import (
    NaturalOrderProxy,
    add_action,
    confirm,
    elided_tips,
    fit_columns,
    fit_placeholder,
    install_page_shortcuts,
    remember_header,
    selected_row,
)
from ..widgets.message_bar import Level, MessageBar
from ..widgets.page_header import PageHeader, page_layout

Index = QModelIndex | QPersistentModelIndex
STEPS = ("preflight", "validate", "pull", "up", "health", "done")
STARTED_COLUMN = 5
SETTINGS_HEADER = "deployments/header"
REMOVE_BUTTON = "Remove project and its containers"

TONES = {
    DeploymentStatus.SUCCEEDED: "success", DeploymentStatus.FAILED: "error",
    DeploymentStatus.ROLLED_BACK: "warning", DeploymentStatus.RUNNING: "running",
    DeploymentStatus.PENDING: "info", DeploymentStatus.CANCELLED: "neutral",
    DeploymentStatus.STOPPED: "neutral", DeploymentStatus.REMOVED: "neutral",
}


DRIFTED = "⚠ drifted"
PUT_BACK = "Put back"


def tone_of(store: DeploymentsStore) -> Callable[[Deployment], str]:
    """A row's badge tone: a row that no longer describes what runs is neutral; one
    whose project was changed by hand is a warning."""
    def tone(dep: Deployment) -> str:
        if store.standing(dep) in (Standing.SUPERSEDED, Standing.REMOVED_SINCE):
            return "neutral"
        if store.drift_of(dep):
            return "warning"
        return TONES.get(dep.status, "neutral")

    return tone


def status_cell(store: DeploymentsStore) -> Callable[[Deployment], str]:
    """The Status cell: the flow's words, or "⚠ drifted" for a project changed by hand."""
    def text(dep: Deployment) -> str:
        return DRIFTED if store.drift_of(dep) else store.status_text(dep)

    return text


def drift_words(store: DeploymentsStore, dep: Deployment) -> str:
    """The differences as a tooltip and the detail's note ("" when there are none)."""
    differences = store.drift_of(dep)
    if not differences:
        return ""
    return (f"{store.status_text(dep).capitalize()}, then changed by hand on the target:\n"
            + "\n".join(f"• {line}" for line in differences))


def _when(dep: Deployment) -> str:
    return dep.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _duration(dep: Deployment) -> str:
    if dep.started_at is None:
        return ""
    if dep.finished_at is None:
        return "…"
    return f"{(dep.finished_at - dep.started_at).total_seconds():.1f} s"


def _revision(dep: Deployment) -> str:
    return f"#{dep.revision_number}" if dep.revision_number else ""


class DeploymentsModel(RowTableModel[Deployment]):
    """Rows from the store; asks the store for the next keyset page when scrolled down."""

    def __init__(self, store: DeploymentsStore, names: Callable[[str, uuid.UUID], str],
                 parent: Any = None) -> None:
        super().__init__([
            Column("Status", status_cell(store), sort_value=store.status_text),
            Column("Stack", lambda d: names("stack", d.stack_id)),
            Column("Revision", _revision, sort_value=lambda d: d.revision_number),
            Column("Target", lambda d: names("target", d.target_id)),
            Column("Stage", lambda d: d.stage.value if d.stage else ""),
            Column("Started", _when, sort_value=lambda d: d.created_at),
            Column("Duration", _duration),
            Column("Project", lambda d: d.project_name),
        ], key=lambda d: d.id, parent=parent)
        self._store = store

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole:
            if index.isValid() and index.column() == 0 and index.row() < self.rowCount():
                return drift_words(self._store, self.row(index.row())) or None
            return None
        return super().data(index, role)

    def canFetchMore(self, parent: Index) -> bool:
        return not parent.isValid() and self._store.has_more

    def fetchMore(self, parent: Index) -> None:
        if not parent.isValid():
            self._store.fetch_more()


class StageStepper(QFrame):
    """preflight → validate → pull → up → health → done, each coloured by its outcome;
    below them, the lifecycle steps that came after (watch, stop, start, remove,
    rollback…) as a history list, so the pills never grow past their six."""

    COLORS = {"succeeded": "#1a7f37", "failed": "#cf222e", "running": "#0969da",
              "cancelled": "#6e7781", "skipped": "#6e7781", "": "#8c959f"}
    MARKS = {"succeeded": "✔ ", "failed": "✖ ", "running": "● ", "cancelled": "■ "}

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Stages")
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 4, 0, 4)
        column.setSpacing(4)
        layout = QHBoxLayout()
        column.addLayout(layout)
        self.labels: dict[str, QLabel] = {}
        for i, step in enumerate(STEPS):
            label = QLabel(step)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setMinimumWidth(80)
            self.labels[step] = label
            layout.addWidget(label)
            if i < len(STEPS) - 1:
                arrow = QLabel("→")
                arrow.setStyleSheet("color: #8c959f;")
                layout.addWidget(arrow)
        layout.addStretch(1)
        self.history = QLabel("")
        self.history.setAccessibleName("Lifecycle history")
        self.history.setWordWrap(True)
        self.history.setTextFormat(Qt.TextFormat.PlainText)
        column.addWidget(self.history)
        self.set_stages([])

    def set_stages(self, stages: Sequence[DeploymentStageRecord]) -> None:
        latest = {s.stage: s for s in stages}
        for step, label in self.labels.items():
            record = latest.get(step)
            outcome = record.outcome if record else ""
            color = self.COLORS.get(outcome, "#8c959f")
            label.setText(f"{self.MARKS.get(outcome, '')}{step}")
            label.setToolTip(record.detail if record else "not reached")
            weight = 600 if record else 400
            label.setStyleSheet(
                f"color: {color}; font-weight: {weight}; border: 1px solid {color};"
                " border-radius: 10px; padding: 2px 8px;")
        others = [s for s in stages if s.stage not in self.labels]
        self.history.setText("\n".join(self._history_line(s) for s in others))
        self.history.setVisible(bool(others))

    def _history_line(self, record: DeploymentStageRecord) -> str:
        when = record.started_at.astimezone().strftime("%H:%M:%S")
        detail = f" — {record.detail}" if record.detail else ""
        return f"{when}  {self.MARKS.get(record.outcome, '')}{words(record.stage)}: " \
               f"{words(record.outcome)}{detail}"


class DeploymentsPage(QWidget):
    def __init__(self, store: DeploymentsStore,
                 names: Callable[[str, uuid.UUID], str] | None = None,
                 parent: QWidget | None = None, *,
                 ui_settings: QSettings | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setAccessibleName("Deployments page")
        self._names = names or self._default_names
        self.message = MessageBar()
        self.status = QComboBox()
        self.status.setAccessibleName("Status filter")
        self.status.addItem("All statuses", None)
        for st in DeploymentStatus:
            self.status.addItem(st.value.replace("_", " "), st)
        self.status.currentIndexChanged.connect(self._filter)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search project  (Ctrl+F)")
        self.search.setAccessibleName("Search deployments")
        self.search.setClearButtonEnabled(True)
        fit_placeholder(self.search)
        self.search.returnPressed.connect(self._filter)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(300)
        self._search_timer.timeout.connect(self._filter)
        self.search.textEdited.connect(lambda _t: self._search_timer.start())
        refresh = QPushButton("Refresh")
        refresh.setAccessibleName("Refresh deployments")
        refresh.setToolTip("Reload the deployments (F5)")
        refresh.clicked.connect(self.refresh)

        self.model = DeploymentsModel(store, self._names, self)
        self.proxy = NaturalOrderProxy((STARTED_COLUMN, Qt.SortOrder.DescendingOrder), self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setAccessibleName("Deployments")
        self.table.setModel(self.proxy)
        self.table.setItemDelegateForColumn(0, BadgeDelegate(tone_of(store), self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate((110, 130, 70, 130, 80, 150, 80)):
            header.resizeSection(column, width)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(STARTED_COLUMN, Qt.SortOrder.DescendingOrder)
        self.header_memory = remember_header(self.table, ui_settings, SETTINGS_HEADER)
        self.column_fit = fit_columns(self.table, memory=self.header_memory)
        elided_tips(self.table)
        self.table.selectionModel().currentRowChanged.connect(self._on_current)
        self.table.customContextMenuRequested.connect(self._context_menu)

        self.title = QLabel("Choose a deployment")
        self.title.setObjectName("sectionTitle")
        set_font(self.title, pixel_size=15, bold=True)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #cf222e;")
        self.drift = QLabel("")
        self.drift.setAccessibleName("Changed by hand")
        self.drift.setWordWrap(True)
        self.drift.setTextFormat(Qt.TextFormat.PlainText)
        self.drift.setStyleSheet("color: #9a6700;")
        self.drift.hide()
        self.stepper = StageStepper()
        self.buttons: dict[str, QPushButton] = {}
        self.confirm_box: QMessageBox | None = None
        actions = QHBoxLayout()
        for action, label in (("redeploy", "Redeploy"), ("update", "Update images"),
                              ("rollback", "Roll back to this"),
                              ("cancel", "Cancel"), ("stop", "Stop"), ("start", "Start"),
                              ("remove", "Remove…")):
            button = QPushButton(label)
            button.setAccessibleName(label.rstrip("…"))
            button.clicked.connect(lambda _=False, a=action: self._act(a))
            self.buttons[action] = button
            actions.addWidget(button)
        self.put_back = QPushButton(PUT_BACK)
        self.put_back.setAccessibleName(PUT_BACK)
        self.put_back.setToolTip("Deploy the same revision again with the same values: what "
                                 "was changed by hand is recreated, what was stopped starts")
        self.put_back.clicked.connect(lambda _=False: self._put_back())
        self.put_back.hide()
        actions.insertWidget(0, self.put_back)
        self.buttons["update"].setToolTip(
            "Deploy this again with every image pulled anew, so a newer image behind the "
            "same tag runs — health check, watch and rollback as usual")
        actions.addStretch(1)
        self.follow = QCheckBox("Follow")
        self.follow.setAccessibleName("Follow the log")
        self.follow.setChecked(True)
        actions.addWidget(self.follow)
        self.log = LogPanel()
        self.follow.toggled.connect(lambda on: setattr(self.log, "follow", on))
        detail = QWidget()
        dv = QVBoxLayout(detail)
        dv.setContentsMargins(0, 0, 0, 0)
        dv.addWidget(self.title)
        dv.addWidget(self.stepper)
        dv.addWidget(self.error)
        dv.addWidget(self.drift)
        dv.addLayout(actions)
        dv.addWidget(self.log, 1)

        bar = QHBoxLayout()
        bar.addWidget(self.status)
        bar.addWidget(self.search, 1)
        bar.addWidget(refresh)
        top = QWidget()
        tv = QVBoxLayout(top)
        tv.setContentsMargins(0, 0, 0, 0)
        tv.addLayout(bar)
        tv.addWidget(self.table, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(detail)
        split.setSizes([300, 420])
        self.header = PageHeader("Deployments", "Every deployment with its stages, live "
                                                "logs, and rollback to a good revision.")
        layout = page_layout(self, self.header)
        layout.addWidget(self.message)
        layout.addWidget(split, 1)

        self.shortcuts = install_page_shortcuts(
            self, filter_edit=self.search, refresh=self.refresh,
            delete=self._delete_selected,
            list_view=self.table)
        store.sig_rows_reset.connect(lambda: self.model.reset(store.rows))
        store.sig_rows_appended.connect(self.model.append)
        store.sig_rows_changed.connect(self._on_changed)
        store.sig_detail_changed.connect(self._show_detail)
        self.log.bind(store)
        store.sig_targets_changed.connect(self.refresh_names)
        store.sig_error.connect(lambda code, msg: self.message.show_message(
            msg, Level.ERROR, code=code))
        self.model.reset(store.rows)
        self._show_detail()

    def _default_names(self, kind: str, obj_id: uuid.UUID) -> str:
        if kind == "target":
            for t in self.store.targets:
                if t.id == obj_id:
                    return t.name
        return str(obj_id)[:8]

    def refresh_names(self) -> None:
        """The names shown changed (a target or stack was renamed, or they loaded)."""
        if self.model.rowCount():
            self.model.dataChanged.emit(self.model.index(0, 1),
                                        self.model.index(self.model.rowCount() - 1, 3))

    def refresh(self) -> None:
        self.message.clear()
        self.store.load()

    def _context_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if index.isValid():
            self.table.selectRow(index.row())
        self.build_context_menu(index.data(ROW_ROLE) if index.isValid() else None).popup(
            self.table.viewport().mapToGlobal(pos))

    def build_context_menu(self, dep: Deployment | None) -> QMenu:
        """The selected deployment's actions (as enabled as their buttons), copy, refresh."""
        menu = QMenu(self)
        menu.setAccessibleName("Deployment actions")
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if isinstance(dep, Deployment):
            allowed = self.store.allowed_actions(dep)
            if self.store.can_put_back(dep):
                add_action(menu, PUT_BACK, lambda d=dep: self._put_back(d))  # type: ignore[misc]
                menu.addSeparator()
            for action, button in self.buttons.items():
                entry = add_action(menu, button.text(),
                                   lambda a=action, d=dep: self._act(a, d),  # type: ignore[misc]
                                   enabled=_allowed(action, allowed))
                if action == "remove":
                    entry.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
            menu.addSeparator()
            project = dep.project_name
            add_action(menu, "Copy project name", lambda: _copy(project))
            menu.addSeparator()
        add_action(menu, "Refresh", self.refresh, shortcut=QKeySequence(Qt.Key.Key_F5))
        return menu

    def _delete_selected(self) -> None:
        dep = selected_row(self.table, Deployment)
        if dep is not None and Action.REMOVE in self.store.allowed_actions(dep):
            self._act("remove", dep)

    def _filter(self) -> None:
        self._search_timer.stop()
        status = self.status.currentData()
        self.store.set_filter(status=[status] if status else [], search=self.search.text())

    def _on_changed(self, deps: tuple[Deployment, ...]) -> None:
        in_store = {d.id for d in self.store.rows}
        known = [d for d in deps if self.model.position(d.id) is not None]
        fresh = [d for d in deps if self.model.position(d.id) is None and d.id in in_store]
        self.model.apply(known)
        if fresh:
            self.model.apply(fresh, prepend=True)

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.store.select(self.model.row(self.proxy.mapToSource(current).row()).id)

    def _show_detail(self) -> None:
        dep = self.store.detail
        for button in self.buttons.values():
            button.setEnabled(False)
        drifted = drift_words(self.store, dep) if dep is not None else ""
        self.drift.setText(drifted)
        self.drift.setVisible(bool(drifted))
        self.put_back.setVisible(dep is not None and self.store.can_put_back(dep))
        self.put_back.setEnabled(self.put_back.isVisibleTo(self))
        if dep is None:
            self.title.setText("Choose a deployment")
            self.error.setText("")
            self.stepper.set_stages([])
            return
        self.title.setText(
            f"{self._names('stack', dep.stack_id)} → {self._names('target', dep.target_id)}"
            f" · {self.store.status_text(dep)} · project {dep.project_name}")
        self.error.setText(dep.error or "")
        self.stepper.set_stages(self.store.stages)
        allowed = self.store.allowed_actions(dep)
        for action, button in self.buttons.items():
            button.setEnabled(_allowed(action, allowed))

    def _act(self, action: str, dep: Deployment | None = None) -> None:
        dep = dep or self.store.detail
        if dep is None:
            return
        if action == "remove":
            self.confirm_remove(dep)
            return
        self.message.clear_on_success(self.store.act_on(action, dep.id), self.store)

    def _put_back(self, dep: Deployment | None = None) -> None:
        dep = dep or self.store.detail
        if dep is not None and self.store.can_put_back(dep):
            self.message.clear_on_success(self.store.put_back(dep.id), self.store)

    def confirm_remove(self, dep: Deployment) -> QMessageBox:
        """Ask (non-blocking, Cancel the default) before taking the project down; the
        named volumes go too only when their box is ticked."""
        dep_id = dep.id
        self.confirm_box = confirm(
            self, title="Remove deployment",
            text=f"Remove the project {dep.project_name} and its containers from "
                 f"{self._names('target', dep.target_id)}?",
            detail="The deployment stays in the list as removed.",
            button=REMOVE_BUTTON,
            check="Also delete its named volumes (their data is lost)",
            then=lambda volumes: self.message.clear_on_success(
                self.store.act_on("remove", dep_id, volumes=volumes), self.store))
        return self.confirm_box


def _allowed(action: str, allowed: frozenset[Action]) -> bool:
    """"Update images" is a redeploy that pulls every image again."""
    return (Action.REDEPLOY if action == "update" else action) in allowed


def _copy(text: str) -> None:
    clipboard = QGuiApplication.clipboard()
    if clipboard is not None:
        clipboard.setText(text)
