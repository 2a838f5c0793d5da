"""The Disk page: pick a target, see its images, volumes and networks (one tab each) with
their sizes and what uses them, remove one (asked first), and prune what nothing uses —
after a preview of what goes, the space it frees and what is kept and why; the space
actually freed is reported in the message bar.

It binds to ``DiskStore`` (and reads the target list from ``TargetsStore``). A volume of
a WindFlow deployment is protected: its Remove is disabled and says why. Removing and
pruning need ``containers:manage``: for a viewer those buttons are hidden. F5 refreshes,
Delete (in a table) asks before removing the selected item.

A page of its own rather than tabs of the Containers page: cleaning a target's disk is a
job of its own (whole target, not one container), the Containers page's action row is
full already, and a page keeps its own target choice, shortcut and Ctrl+number.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Hashable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QSettings, QSortFilterProxyModel, Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...domain.containers import (
    DiskKind,
    ImageUsage,
    NetworkUsage,
    PrunePlan,
    PruneResult,
    VolumeUsage,
)
from ...domain.words import plural
from ...stores.disk import DiskStore
from ...stores.targets import TargetsStore
from ..models.base import SORT_ROLE, Column, Index, RowTableModel
from ..widgets.list_tools import (
    confirm,
    elided_tips,
    fit_columns,
    install_page_shortcuts,
    remember_header,
    selected_row,
)
from ..widgets.message_bar import MessageBar
from ..widgets.page_header import PageHeader, page_layout
from ..widgets.target_picker import first_online, refill_targets
from ..widgets.target_text import human_size

R = TypeVar("R")
NONE = "—"
LISTED_IN_PREVIEW = 12   # names listed in the prune question; the rest are counted


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else NONE


def _stamp(moment: datetime | None) -> float:
    return moment.timestamp() if moment else 0.0


def _names(names: Sequence[str]) -> str:
    return ", ".join(names) if names else NONE


def image_title(image: ImageUsage) -> str:
    return ", ".join(image.tags) if image.tags else f"<untagged> {image.short_id}"


def protection(volume: VolumeUsage) -> str:
    return f"protected: {volume.managed}" if volume.managed is not None else ""


IMAGE_COLUMNS: list[Column[ImageUsage]] = [
    Column("Tags", image_title, lambda i: image_title(i).lower()),
    Column("Size", lambda i: human_size(i.size_bytes), lambda i: i.size_bytes,
           Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
    Column("Created", lambda i: _when(i.created), lambda i: _stamp(i.created)),
    Column("Used by", lambda i: _names(i.used_by), lambda i: len(i.used_by)),
]
VOLUME_COLUMNS: list[Column[VolumeUsage]] = [
    Column("Name", lambda v: v.name, lambda v: v.name.lower()),
    Column("Driver", lambda v: v.driver),
    Column("Size", lambda v: NONE if v.size_bytes is None else human_size(v.size_bytes),
           lambda v: v.size_bytes if v.size_bytes is not None else -1,
           Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
    Column("Used by", lambda v: _names(v.used_by), lambda v: len(v.used_by)),
    Column("Protected", protection),
]
NETWORK_COLUMNS: list[Column[NetworkUsage]] = [
    Column("Name", lambda n: n.name, lambda n: n.name.lower()),
    Column("Driver", lambda n: n.driver),
    Column("Containers", lambda n: _names(n.containers), lambda n: len(n.containers)),
]


class TipModel(RowTableModel[R], Generic[R]):
    """A ``RowTableModel`` whose cells may carry a tooltip (``tip(row, column)``)."""

    def __init__(self, columns: Sequence[Column[R]], key: Callable[[R], Hashable],
                 tip: Callable[[R, int], str], parent: Any = None) -> None:
        super().__init__(columns, key, parent)
        self._tip = tip

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole:
            if not index.isValid() or index.row() >= self.rowCount():
                return None
            return self._tip(self.row(index.row()), index.column()) or None
        return super().data(index, role)

    def replace(self, rows: Sequence[R]) -> None:
        """The new reading: changed rows in place, new ones added, gone ones removed."""
        fresh = {self._key(r) for r in rows}
        self.apply(rows, [self._key(r) for r in self.rows() if self._key(r) not in fresh])


def image_models(parent: Any) -> TipModel[ImageUsage]:
    return TipModel(IMAGE_COLUMNS, lambda i: i.id, lambda i, c: (
        f"{i.short_id}: {human_size(i.unique_bytes)} of its own (freed when removed)"
        if c == 1 else ""), parent)


def volume_models(parent: Any) -> TipModel[VolumeUsage]:
    return TipModel(VOLUME_COLUMNS, lambda v: v.name, lambda v, c: (
        "Used by a WindFlow deployment: never pruned; remove that deployment first"
        if c == 4 and v.protected else ""), parent)


def network_models(parent: Any) -> TipModel[NetworkUsage]:
    return TipModel(NETWORK_COLUMNS, lambda n: n.id, lambda n, c: (
        "The engine's own network" if c == 0 and n.builtin else ""), parent)


def why_not_removable(row: object) -> str:
    """Why this item cannot be removed from here ("" when it can)."""
    if isinstance(row, VolumeUsage):
        if row.managed is not None:
            return f"Protected: it belongs to {row.managed}; remove that deployment first"
        if row.used_by:
            return f"In use by {_names(row.used_by)}: remove those containers first"
    if isinstance(row, ImageUsage) and row.used_by:
        return f"In use by {_names(row.used_by)}: remove those containers first"
    if isinstance(row, NetworkUsage):
        if row.builtin:
            return "The engine's own network: it is never removed"
        if row.containers:
            return f"Containers are attached: {_names(row.containers)}"
    return ""


class DiskTab(QWidget):
    """One kind's table with its Remove… and Prune unused… buttons."""

    def __init__(self, kind: DiskKind, model: TipModel[Any], row_type: type,
                 ui_settings: QSettings | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.row_type = row_type
        self.model = model
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setAccessibleName(kind.value.capitalize())
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        memory = remember_header(self.table, ui_settings, f"disk/{kind.value}/header")
        fit_columns(self.table, maximum=420, memory=memory)
        elided_tips(self.table)
        self.remove_button = QPushButton("Remove…")
        self.remove_button.setAccessibleName(f"Remove {kind.singular}")
        self.prune_button = QPushButton("Prune unused…")
        self.prune_button.setAccessibleName(f"Prune unused {kind.value}")
        self.prune_button.setToolTip(
            f"See which {kind.value} nothing uses and the space they take, then remove them")
        buttons = QHBoxLayout()
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.prune_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        self.table.selectionModel().selectionChanged.connect(self.update_remove)
        self.update_remove()

    def selected(self) -> Any:
        return selected_row(self.table, self.row_type)

    def update_remove(self, *_args: object) -> None:
        row = self.selected()
        reason = why_not_removable(row) if row is not None else ""
        self.remove_button.setEnabled(row is not None and not reason)
        self.remove_button.setToolTip(reason or (f"Remove the selected {self.kind.singular}"
                                                 if row is not None else ""))


class DiskPage(QWidget):
    def __init__(self, store: DiskStore, targets: TargetsStore,
                 ui_settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.targets = targets
        self.setAccessibleName("Disk page")
        self.confirm_box: QMessageBox | None = None
        self.header = PageHeader(
            "Disk", "Images, volumes and networks on each target: what uses them, and "
            "the space pruning what nothing uses frees.")
        self.messages = MessageBar()
        self.target_combo = QComboBox()
        self.target_combo.setAccessibleName("Target")
        self.target_combo.setMinimumWidth(220)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setAccessibleName("Refresh disk usage")
        self.refresh_button.setToolTip("Read the target's images, volumes and networks again (F5)")
        self.summary = QLabel("")
        self.summary.setAccessibleName("Summary")
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Kinds")
        self.images = DiskTab(DiskKind.IMAGES, image_models(self), ImageUsage, ui_settings)
        self.volumes = DiskTab(DiskKind.VOLUMES, volume_models(self), VolumeUsage, ui_settings)
        self.networks = DiskTab(DiskKind.NETWORKS, network_models(self), NetworkUsage,
                                ui_settings)
        self.tab_of = {tab.kind: tab for tab in (self.images, self.volumes, self.networks)}
        for tab in self.tab_of.values():
            self.tabs.addTab(tab, tab.kind.value.capitalize())
            tab.remove_button.clicked.connect(lambda _c=False, t=tab: self.confirm_remove(t))
            tab.prune_button.clicked.connect(lambda _c=False, k=tab.kind: self.ask_prune(k))

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Target"))
        bar.addWidget(self.target_combo)
        bar.addWidget(self.refresh_button)
        bar.addStretch(1)
        bar.addWidget(self.summary)
        layout = page_layout(self, self.header)
        layout.addWidget(self.messages)
        layout.addLayout(bar)
        layout.addWidget(self.tabs, 1)

        self.shortcuts = install_page_shortcuts(self, refresh=self.refresh,
                                                delete=self._delete_key, list_view=self.tabs)
        self.target_combo.currentIndexChanged.connect(self._on_target)
        self.refresh_button.clicked.connect(self.refresh)
        store.sig_usage_changed.connect(self._rebuild)
        store.sig_preview_ready.connect(self._preview_ready)
        store.sig_pruned.connect(self._pruned)
        store.sig_removed.connect(self._removed)
        store.sig_error.connect(self.messages.show_error)
        targets.sig_targets_reset.connect(self._fill_targets)
        targets.sig_targets_applied.connect(lambda _u, _r: self._fill_targets())
        self._fill_targets()
        self._rebuild()

    # -- targets ---------------------------------------------------------------------------

    def _fill_targets(self) -> None:
        index = refill_targets(self.target_combo, self.targets.targets)
        if index is None or index >= 0:
            return
        if self.target_combo.count():
            self.target_combo.setCurrentIndex(first_online(self.target_combo,
                                                           self.targets.targets))
        else:
            self._on_target(-1)

    def select_target(self, target_id: uuid.UUID) -> None:
        index = self.target_combo.findData(str(target_id))
        if index >= 0:
            self.target_combo.setCurrentIndex(index)

    def _on_target(self, index: int) -> None:
        data = self.target_combo.itemData(index) if index >= 0 else None
        self.messages.clear()
        if self.isVisible() or data is None:
            self.store.select_target(uuid.UUID(data) if data else None)

    def showEvent(self, event: QShowEvent) -> None:
        # Read when seen: a target's disk is not read for a page nobody looks at.
        super().showEvent(event)
        data = self.target_combo.currentData()
        if data:
            self.store.select_target(uuid.UUID(data))

    def refresh(self) -> None:
        self.messages.clear()
        self.store.load()

    # -- the reading -----------------------------------------------------------------------

    def _rebuild(self) -> None:
        usage = self.store.usage
        self.images.model.replace(usage.images if usage else ())
        self.volumes.model.replace(usage.volumes if usage else ())
        self.networks.model.replace(usage.networks if usage else ())
        manage = self.store.can_manage
        for index, tab in enumerate(self.tab_of.values()):
            tab.remove_button.setVisible(manage)
            tab.prune_button.setVisible(manage)
            tab.update_remove()
            self.tabs.setTabText(index, f"{tab.kind.value.capitalize()} ({tab.model.rowCount()})"
                                 if usage else tab.kind.value.capitalize())
        if usage is None:
            self.summary.setText("Choose a target" if self.store.target_id is None else "")
            return
        images = sum(i.unique_bytes for i in usage.images)
        volumes = sum(v.size_bytes or 0 for v in usage.volumes)
        self.summary.setText(
            f"{plural(len(usage.images), 'image')} ({human_size(images)}), "
            f"{plural(len(usage.volumes), 'volume')} ({human_size(volumes)}), "
            f"{plural(len(usage.networks), 'network')}")

    # -- remove ----------------------------------------------------------------------------

    def _delete_key(self) -> None:
        tab = self.tabs.currentWidget()
        if isinstance(tab, DiskTab) and not tab.remove_button.isHidden() \
                and tab.remove_button.isEnabled():
            self.confirm_remove(tab)

    def confirm_remove(self, tab: DiskTab) -> None:
        row = tab.selected()
        if row is None or why_not_removable(row) or not self.store.can_manage:
            return
        kind = tab.kind
        if isinstance(row, ImageUsage):
            # By id, forced: every tag of it goes (no container uses it, see above).
            ref, name, force = row.id, row.name, True
            detail = (f"It frees about {human_size(row.unique_bytes)}. "
                      + (f"Its tags go with it: {', '.join(row.tags)}." if len(row.tags) > 1
                         else "") + " A deployment that needs it pulls or builds it again.")
        elif isinstance(row, VolumeUsage):
            ref, name, force = row.name, row.name, False
            size = NONE if row.size_bytes is None else human_size(row.size_bytes)
            detail = f"Its data ({size}) is deleted for good."
        else:
            ref, name, force = row.id, row.name, False
            detail = "No container is attached to it."
        self.confirm_box = confirm(
            self, title=f"Remove {kind.singular}",
            text=f"Remove the {kind.singular} {name}?", detail=detail.strip(),
            button="Remove", then=lambda: self.messages.clear_on_success(
                self.store.remove(kind, ref, name=name, force=force), self.store))

    def _removed(self, kind: str, name: str) -> None:
        self.messages.show_success(f"Removed the {DiskKind(kind).singular} {name}")

    # -- prune -----------------------------------------------------------------------------

    def ask_prune(self, kind: DiskKind) -> None:
        """Preview first; the question comes with the preview (``_preview_ready``)."""
        self.messages.clear()
        self.store.preview(kind)

    def _preview_ready(self, plan: PrunePlan) -> None:
        kept = "".join(f"\n• {name} — {reason}" for name, reason in plan.kept)
        if not plan.items:
            text = f"Nothing to prune: every {plan.kind.singular} is in use."
            self.messages.show_message(text + (f" Kept on purpose:{kept}" if kept else ""))
            return
        names = [f"• {item.name}" + (f" ({human_size(item.bytes)})" if item.bytes else "")
                 for item in plan.items[:LISTED_IN_PREVIEW]]
        more = len(plan.items) - LISTED_IN_PREVIEW
        if more > 0:
            names.append(f"… and {more} more")
        frees = (f" This frees {human_size(plan.bytes)}." if plan.kind is not DiskKind.NETWORKS
                 else "")
        detail = "Removed:\n" + "\n".join(names)
        if kept:
            detail += f"\n\nKept:{kept}"
        self.confirm_box = confirm(
            self, title=f"Prune unused {plan.kind.value}",
            text=f"Remove {plural(len(plan.items), plan.kind.singular)} that nothing "
                 f"uses?{frees}", detail=detail, button="Prune",
            then=lambda: self.messages.clear_on_success(self.store.prune(plan.kind),
                                                        self.store))

    def _pruned(self, result: PruneResult) -> None:
        what = plural(len(result.removed), result.kind.singular)
        freed = (f": {human_size(result.bytes_freed)} freed"
                 if result.kind is not DiskKind.NETWORKS else "")
        if result.failed:
            refused = "; ".join(f"{name}: {why}" for name, why in result.failed)
            self.messages.show_warning(f"Pruned {what}{freed}. Not removed: {refused}")
        else:
            self.messages.show_success(f"Pruned {what}{freed}", timeout_ms=0)
