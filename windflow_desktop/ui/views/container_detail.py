"""The Containers page's detail panel: the selected container's image, command, state
and health, restart policy, ports, mounts, its last health checks, and its environment
with secret values masked (the service masks them as the logs do: the values of the
target's deployments' secrets, and of variables whose names say secret).

It binds to ``ContainerDetailStore``; the page tells it which container is selected
(``show_container``) and it reads that one once the selection settles.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QLabel,
    QScrollArea,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...domain.containers import ContainerDetail
from ...stores.container_detail import ContainerDetailStore
from ..models.base import SORT_ROLE, Column, RowTableModel
from ..widgets.list_tools import elided_tips

HEALTH_CHECKS_SHOWN = 5
FIELDS = ("Image", "Command", "State", "Restart policy", "Ports", "Mounts", "Health log")
Pair = tuple[str, str]
ENV_COLUMNS: list[Column[Pair]] = [
    Column("Variable", lambda p: p[0], lambda p: p[0].lower()),
    Column("Value", lambda p: p[1]),
]


def _health_log(detail: ContainerDetail) -> str:
    if not detail.health_log:
        return "No health check" if not detail.health else "No check has run yet"
    lines = []
    for check in detail.health_log[-HEALTH_CHECKS_SHOWN:]:
        when = check.started[11:19] if len(check.started) >= 19 else check.started
        outcome = "passed" if check.exit_code == 0 else f"failed (exit {check.exit_code})"
        output = check.output.splitlines()[0] if check.output else ""
        lines.append(f"{when}  {outcome}" + (f" — {output}" if output else ""))
    return "\n".join(lines)


def field_texts(detail: ContainerDetail) -> dict[str, str]:
    """What each field of the panel reads for ``detail`` (pure)."""
    state = detail.state + (f", {detail.health}" if detail.health else "")
    return {
        "Image": detail.image,
        "Command": detail.command or "—",
        "State": state or "—",
        "Restart policy": detail.restart_policy or "no",
        "Ports": "\n".join(str(p) for p in detail.ports) or "None",
        "Mounts": "\n".join(str(m) for m in detail.mounts) or "None",
        "Health log": _health_log(detail),
    }


class ContainerDetailPanel(QWidget):
    def __init__(self, store: ContainerDetailStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setAccessibleName("Container detail")
        self.title = QLabel("Detail")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.state = QLabel("Select a container to see its detail.")
        self.state.setAccessibleName("Detail state")
        self.state.setWordWrap(True)
        self.fields: dict[str, QLabel] = {}
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for name in FIELDS:
            label = QLabel("")
            label.setAccessibleName(name)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.fields[name] = label
            form.addRow(f"{name}:", label)
        self.env_model: RowTableModel[Pair] = RowTableModel(ENV_COLUMNS, lambda p: p[0], self)
        proxy = QSortFilterProxyModel(self)
        proxy.setSourceModel(self.env_model)
        proxy.setSortRole(SORT_ROLE)
        self.env_table = QTableView()
        self.env_table.setAccessibleName("Environment")
        self.env_table.setModel(proxy)
        self.env_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.env_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.env_table.verticalHeader().hide()
        self.env_table.horizontalHeader().setStretchLastSection(True)
        self.env_table.setColumnWidth(0, 160)
        self.env_table.setSortingEnabled(True)
        self.env_table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.env_table.setMinimumHeight(120)
        elided_tips(self.env_table, middle=False)

        body = QWidget()
        inner = QVBoxLayout(body)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addLayout(form)
        inner.addWidget(QLabel("Environment (secret values masked):"))
        inner.addWidget(self.env_table, 1)
        self.body = body
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.state)
        layout.addWidget(scroll, 1)

        # The page's list is rebuilt in one pass (selection cleared, then restored): the
        # panel reads the selection once that settles, not on every step of it.
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(0)
        self._settle.timeout.connect(self._read_selection)
        self._selection: Callable[[], tuple[uuid.UUID | None, str | None]] = lambda: (None, None)
        store.sig_detail_changed.connect(self._show)
        store.sig_error.connect(lambda _code, message: self._error(message))
        self._show()

    def follow(self, selection: Callable[[], tuple[uuid.UUID | None, str | None]]) -> None:
        """``selection()`` says which (target, container) is selected now."""
        self._selection = selection

    def selection_changed(self, *_args: object) -> None:
        self._settle.start()

    def _read_selection(self) -> None:
        self.show_container(*self._selection())

    def show_container(self, target_id: uuid.UUID | None, container_id: str | None) -> None:
        self.store.show(target_id, container_id)

    def text(self, name: str) -> str:
        return self.fields[name].text()

    def _show(self) -> None:
        detail = self.store.detail
        self.body.setVisible(detail is not None)
        if detail is None:
            self.title.setText("Detail")
            self.state.setText("Reading…" if self.store.container_id
                               else "Select a container to see its detail.")
            self.state.show()
            self.env_model.reset(())
            return
        self.title.setText(f"Detail — {detail.name} ({detail.short_id})")
        self.state.hide()
        for name, text in field_texts(detail).items():
            self.fields[name].setText(text)
        self.env_model.reset(detail.environment)  # another container: a new set of rows

    def _error(self, message: str) -> None:
        self.body.hide()
        self.state.setText(f"Could not read this container: {message}")
        self.state.show()
