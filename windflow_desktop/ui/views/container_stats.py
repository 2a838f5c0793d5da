"""The Containers page's live stats: a CPU and a memory sparkline column in its tree and
the chart of the selected container, bound to ``StatsStore``.

The model holds no samples: the delegates read the store's history. A batch (one a
second) sets the two cells' sort keys quietly and then announces each run of adjacent
changed rows with one ``dataChanged`` (the two columns, the sort role only) — the view
repaints those cells, the proxy re-sorts only when sorted by one of them, and nothing is
ever reset.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QTreeView

from ...stores.stats import ContainerStats, StatsStore
from ..models.base import SORT_ROLE
from ..widgets.sparkline import SAMPLES, Series, SparklineDelegate
from ..widgets.stats_chart import MIB, StatsChart
from ..widgets.target_text import human_size

Index = QModelIndex | QPersistentModelIndex
STATS_HEADERS = ["CPU", "Memory"]


def runs(rows: list[int]) -> list[tuple[int, int]]:
    """Row numbers as runs of adjacent rows: [4, 1, 2, 7] → [(1, 2), (4, 4), (7, 7)]."""
    out: list[tuple[int, int]] = []
    for row in sorted(rows):
        if out and row == out[-1][1] + 1:
            out[-1] = (out[-1][0], row)
        else:
            out.append((row, row))
    return out


class LiveStats(QObject):
    """``rows_rebuilt(model)`` after the page refilled its model; ``follow(target)``
    when it is shown or its target changed; ``stop()`` when it is hidden."""

    def __init__(self, stats: StatsStore, model: QStandardItemModel, tree: QTreeView,
                 chart: StatsChart, *, container_role: int, cpu_column: int) -> None:
        super().__init__(tree)
        self.stats = stats
        self.model = model
        self.tree = tree
        self.chart = chart
        self.role = container_role
        self.cpu_column = cpu_column
        self._rows: dict[str, tuple[QStandardItem, int]] = {}  # id -> (parent, row)
        tree.setItemDelegateForColumn(cpu_column, SparklineDelegate(self.cpu_series, tree))
        tree.setItemDelegateForColumn(cpu_column + 1,
                                      SparklineDelegate(self.memory_series, tree))
        tree.setColumnWidth(cpu_column, 150)
        tree.setColumnWidth(cpu_column + 1, 170)
        stats.sig_stats_updated.connect(self._on_batch)
        tree.selectionModel().currentChanged.connect(lambda *_a: self._show_selected())

    # -- the page's calls -----------------------------------------------------------------

    def follow(self, target_id: Any) -> None:
        self.stats.watch(target_id)
        self._show_selected()

    def stop(self) -> None:
        self.stats.stop()

    def sort_keys(self, container_id: str) -> tuple[float, float]:
        latest = self.stats.latest(container_id)
        return (latest.cpu_percent, float(latest.memory_bytes)) if latest else (-1.0, -1.0)

    def rows_rebuilt(self) -> None:
        """Where each container's row is now (after the page refilled the model)."""
        self._rows = {}
        for head_row in range(self.model.rowCount()):
            head = self.model.item(head_row, 0)
            for row in range(head.rowCount()):
                container = head.child(row, 0).data(self.role)
                if container is not None:
                    self._rows[container.id] = (head, row)
        self._show_selected()

    # -- what the delegates paint ---------------------------------------------------------

    def _history(self, index: Index) -> list[ContainerStats] | None:
        container = index.data(self.role)
        if container is None:
            return None
        samples = self.stats.history(container.id)
        if not samples:
            return None
        return list(itertools.islice(samples, max(len(samples) - SAMPLES, 0), None))

    def cpu_series(self, index: Index) -> Series | None:
        samples = self._history(index)
        if samples is None:
            return None
        values = [s.cpu_percent for s in samples]
        return Series(values, max(100.0, *values), f"{values[-1]:.1f}%")

    def memory_series(self, index: Index) -> Series | None:
        samples = self._history(index)
        if samples is None:
            return None
        values = [float(s.memory_bytes) for s in samples]
        return Series(values, max(float(MIB), *values) * 1.25, human_size(values[-1]))

    # -- batches --------------------------------------------------------------------------

    def _on_batch(self, batch: Mapping[str, ContainerStats]) -> None:
        changed: dict[int, tuple[QStandardItem, list[int]]] = {}
        cpu, memory = self.cpu_column, self.cpu_column + 1
        blocked = self.model.blockSignals(True)  # the sort keys quietly; announced below
        try:
            for container_id, sample in batch.items():
                where = self._rows.get(container_id)
                if where is None:
                    continue
                head, row = where
                head.child(row, cpu).setData(sample.cpu_percent, SORT_ROLE)
                head.child(row, memory).setData(float(sample.memory_bytes), SORT_ROLE)
                changed.setdefault(id(head), (head, []))[1].append(row)
        finally:
            self.model.blockSignals(blocked)
        for head, rows in changed.values():
            parent = head.index()
            for first, last in runs(rows):
                self.model.dataChanged.emit(self.model.index(first, cpu, parent),
                                            self.model.index(last, memory, parent),
                                            [SORT_ROLE])
        current = self._current()
        if current is not None and current in batch:
            self._show_selected()

    def _current(self) -> str | None:
        container = self.tree.currentIndex().siblingAtColumn(0).data(self.role)
        return str(container.id) if container is not None else None

    def _show_selected(self) -> None:
        container = self.tree.currentIndex().siblingAtColumn(0).data(self.role)
        if container is None:
            self.chart.set_samples("", ())
        else:
            self.chart.set_samples(container.name, self.stats.history(container.id))
