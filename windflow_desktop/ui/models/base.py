"""``RowTableModel``: a table model over store rows with precise, batched row changes.

``data()`` only reads the row cache; loading happens in stores. Updates arrive as
batches (``apply``) and become one insert, one removal per contiguous block, and one
``dataChanged`` per contiguous block of changed rows — never a reset for one row.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

R = TypeVar("R")
Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class Column(Generic[R]):
    title: str
    value: Callable[[R], Any]
    sort_value: Callable[[R], Any] | None = None
    align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter


SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2
_DISPLAY = Qt.ItemDataRole.DisplayRole
_ROLES = frozenset({_DISPLAY, SORT_ROLE, ROW_ROLE, Qt.ItemDataRole.TextAlignmentRole})


class RowTableModel(QAbstractTableModel, Generic[R]):
    def __init__(
        self,
        columns: Sequence[Column[R]],
        key: Callable[[R], Hashable],
        parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self._columns = list(columns)
        self._key = key
        self._rows: list[R] = []
        self._index: dict[Hashable, int] = {}

    # Qt overrides -------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # A view asks for ~7 roles per painted cell and most have no answer here: decide
        # on the role first, before looking the row up (a paint's worth of calls adds up).
        if role not in _ROLES or not index.isValid():
            return None
        position = index.row()
        if position >= len(self._rows):
            return None
        row, column = self._rows[position], self._columns[index.column()]
        if role == _DISPLAY:
            value = column.value(row)
            return "" if value is None else str(value)
        if role == SORT_ROLE:
            getter = column.sort_value or column.value
            return getter(row)
        if role == ROW_ROLE:
            return row
        return int(column.align.value)  # TextAlignmentRole

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(self._columns)
        ):
            return self._columns[section].title
        return None

    # Row access ---------------------------------------------------------------------
    def row(self, position: int) -> R:
        return self._rows[position]

    def position(self, key: Hashable) -> int | None:
        return self._index.get(key)

    def rows(self) -> Sequence[R]:
        return tuple(self._rows)

    # Changes --------------------------------------------------------------------------
    def reset(self, rows: Iterable[R]) -> None:
        """Replace everything (a new query), the only place a reset is right."""
        self.beginResetModel()
        self._rows = list(rows)
        self._reindex()
        self.endResetModel()

    def append(self, rows: Sequence[R]) -> None:
        """Add rows at the end in one insert (a fetched page, new log lines)."""
        fresh = [r for r in self._unique(rows) if self._key(r) not in self._index]
        if not fresh:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
        for offset, row in enumerate(fresh):
            self._index[self._key(row)] = first + offset
        self._rows.extend(fresh)
        self.endInsertRows()

    def apply(
        self, upserts: Sequence[R] = (), removals: Iterable[Hashable] = (), *, prepend: bool = False
    ) -> None:
        """Apply a batch: update known rows in place, add new ones, drop removed ones."""
        self._remove(removals)
        changed: list[int] = []
        fresh: list[R] = []
        for row in upserts:
            pos = self._index.get(self._key(row))
            if pos is None:
                fresh.append(row)
            else:
                self._rows[pos] = row
                changed.append(pos)
        for start, end in _blocks(changed):
            self.dataChanged.emit(
                self.index(start, 0), self.index(end, len(self._columns) - 1)
            )
        if not fresh:
            return
        if prepend:
            unique = self._unique(fresh)
            self.beginInsertRows(QModelIndex(), 0, len(unique) - 1)
            self._rows[:0] = unique
            self._reindex()
            self.endInsertRows()
        else:
            self.append(fresh)

    def _remove(self, keys: Iterable[Hashable]) -> None:
        positions = sorted({p for k in keys if (p := self._index.get(k)) is not None})
        for start, end in reversed(list(_blocks(positions))):
            self.beginRemoveRows(QModelIndex(), start, end)
            del self._rows[start : end + 1]
            self.endRemoveRows()
        if positions:
            self._reindex()

    def _unique(self, rows: Sequence[R]) -> list[R]:
        """One row per key, the latest version, in first-seen order."""
        latest: dict[Hashable, R] = {}
        for row in rows:
            latest[self._key(row)] = row
        return list(latest.values())

    def _reindex(self) -> None:
        self._index = {self._key(r): i for i, r in enumerate(self._rows)}


def _blocks(positions: Sequence[int]) -> Iterable[tuple[int, int]]:
    """Contiguous runs of sorted positions as (first, last)."""
    run: list[int] = []
    for pos in sorted(positions):
        if run and pos != run[-1] + 1:
            yield run[0], run[-1]
            run = []
        run.append(pos)
    if run:
        yield run[0], run[-1]
