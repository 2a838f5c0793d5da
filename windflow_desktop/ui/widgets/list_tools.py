"""What every list page shares, written once: the header's widths and sort order
remembered in the window's ``QSettings``, the page shortcuts (Ctrl+F focuses the filter,
F5 refreshes, Delete asks then deletes the selected row), a non-blocking confirmation
box, context-menu actions, and a sort proxy whose natural order costs no comparisons.

Ctrl+F and F5 are window shortcuts owned by the page: Qt only matches shortcuts of
visible widgets, so the page on show answers them and the hidden ones stay quiet.
Delete belongs to the list view alone (it has the focus), so Delete keeps its meaning
in the filter box and in editors on the same page.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPoint,
    QSettings,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)
from PySide6.QtGui import QAction, QHelpEvent, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QStyle,
    QTableView,
    QToolTip,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from ..models.base import ROW_ROLE, RowTableModel

SAVE_DELAY_MS = 400
R = TypeVar("R")


def selected_row(table: QTableView, kind: type[R]) -> R | None:
    """The row object (``ROW_ROLE``) of the table's first selected row, if a ``kind``."""
    rows = table.selectionModel().selectedRows()
    row = rows[0].data(ROW_ROLE) if rows else None
    return row if isinstance(row, kind) else None


def select_key(table: QTableView, proxy: QSortFilterProxyModel, model: RowTableModel[Any],
               key: Hashable) -> None:
    """Select the row of ``key`` in ``table`` (shown through ``proxy``), if it is there."""
    position = model.position(key)
    if position is not None:
        table.selectRow(proxy.mapFromSource(model.index(position, 0)).row())


class HeaderMemory(QObject):
    """Restores a view's header state (widths, order, sort) from ``settings[key]`` and
    saves it, debounced, whenever the user resizes, moves or sorts — and at once when the
    view is hidden (page switch, window closed). Without settings it does nothing."""

    def __init__(self, view: QTableView | QTreeView, settings: QSettings | None,
                 key: str) -> None:
        super().__init__(view)
        self._view = view
        self._settings = settings
        self.key = key
        self.header: QHeaderView = (view.horizontalHeader() if isinstance(view, QTableView)
                                    else view.header())
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SAVE_DELAY_MS)
        self._timer.timeout.connect(self.save)
        self.restored = self.restore()  # the user's own widths: nothing sizes over them
        self.header.sectionResized.connect(self._changed)
        self.header.sectionMoved.connect(self._changed)
        self.header.sortIndicatorChanged.connect(self._changed)
        view.installEventFilter(self)

    def restore(self) -> bool:
        if self._settings is None:
            return False
        state = self._settings.value(self.key)
        if state is None or not self.header.restoreState(state):
            return False
        if self._view.isSortingEnabled():  # the indicator alone does not sort the rows
            self._view.sortByColumn(self.header.sortIndicatorSection(),
                                    self.header.sortIndicatorOrder())
        return True

    def save(self) -> None:
        self._timer.stop()
        # A view being destroyed is hidden after its header is gone: nothing to save then.
        if self._settings is not None and shiboken6.isValid(self.header):
            self._settings.setValue(self.key, self.header.saveState())

    def flush(self) -> None:
        """Save now if a change is waiting."""
        if self._timer.isActive():
            self.save()

    def _changed(self, *_args: Any) -> None:
        if self._settings is not None:
            self._timer.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Hide:
            self.flush()
        return False


def remember_header(view: QTableView | QTreeView, settings: QSettings | None,
                    key: str) -> HeaderMemory:
    return HeaderMemory(view, settings, key)


class ColumnFit(QObject):
    """Sizes a view's columns to their contents (header included), within ``minimum``
    and ``maximum`` pixels, whenever rows arrive — until the user resizes a column by
    hand or their saved widths were restored; the stretched last column is left alone.
    Long text in a column at ``maximum`` is elided (see ``ElidedTips``)."""

    def __init__(self, view: QTableView | QTreeView, *, minimum: int = 60,
                 maximum: int = 360, memory: HeaderMemory | None = None) -> None:
        super().__init__(view)
        self._view = view
        self.minimum, self.maximum = minimum, maximum
        self.header: QHeaderView = (view.horizontalHeader() if isinstance(view, QTableView)
                                    else view.header())
        self.active = memory is None or not memory.restored
        self._fitting = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)  # once per batch of rows, after they are in
        self._timer.timeout.connect(self.fit)
        model = view.model()
        for signal in (model.modelReset, model.rowsInserted, model.dataChanged,
                       model.layoutChanged):
            signal.connect(self._later)
        self.header.sectionResized.connect(self._resized)
        view.installEventFilter(self)  # a view measures only the rows it has laid out
        self.fit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Show:
            self._later()
        return False

    def _later(self, *_args: Any) -> None:
        if self.active:
            self._timer.start()

    def _resized(self, column: int, *_args: Any) -> None:
        if self._fitting or not self._fitted(column):
            return  # ours, or Qt stretching the last column to the view's width
        self.active = False  # the user dragged a divider: their widths from now on

    def _fitted(self, column: int) -> bool:
        last = column == self.header.count() - 1 and self.header.stretchLastSection()
        mode = self.header.sectionResizeMode(column)
        return not last and mode == QHeaderView.ResizeMode.Interactive

    def fit(self) -> None:
        if not self.active or not shiboken6.isValid(self._view):
            return
        self._fitting = True
        try:
            for column in range(self.header.count()):
                if not self._fitted(column):
                    continue
                wanted = max(self._view.sizeHintForColumn(column),
                             self.header.sectionSizeHint(column))
                self.header.resizeSection(column, min(max(wanted, self.minimum),
                                                      self.maximum))
        finally:
            self._fitting = False


def fit_columns(view: QTableView | QTreeView, *, minimum: int = 60, maximum: int = 360,
                memory: HeaderMemory | None = None) -> ColumnFit:
    return ColumnFit(view, minimum=minimum, maximum=maximum, memory=memory)


class ElidedTips(QObject):
    """A cell whose text does not fit its column shows the whole text as its tooltip
    (hosts and paths are elided in the middle, so both ends stay readable)."""

    def __init__(self, view: QAbstractItemView, *, middle: bool = True) -> None:
        super().__init__(view)
        self._view = view
        if middle:
            view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        view.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.ToolTip or not isinstance(event, QHelpEvent):
            return False
        index = self._view.indexAt(event.pos())
        if not index.isValid() or index.data(Qt.ItemDataRole.ToolTipRole):
            return False  # the model's own tooltip wins
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        if text and not fits(self._view, index, text):
            QToolTip.showText(event.globalPos(), text, self._view.viewport())
            return True
        QToolTip.hideText()
        return True


def fits(view: QAbstractItemView, index: QModelIndex, text: str) -> bool:
    """Whether ``text`` is shown whole in the cell at ``index`` (with the cell margins)."""
    # The text margin a style leaves on each side of an item's text (QCommonStyle).
    margin = 2 * (view.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 1)
    return view.fontMetrics().horizontalAdvance(text) + margin <= view.visualRect(index).width()


def elided_tips(view: QAbstractItemView, *, middle: bool = True) -> ElidedTips:
    return ElidedTips(view, middle=middle)


def fit_placeholder(edit: QLineEdit, *, extra: int = 48) -> None:
    """A filter box at least as wide as its placeholder (plus the clear button)."""
    edit.setMinimumWidth(edit.fontMetrics().horizontalAdvance(edit.placeholderText()) + extra)


class EmptyState(QWidget):
    """Over a view whose ``model`` has no rows: a line saying so and a button for the
    first step (say "Add target…"); it goes away with the first row."""

    def __init__(self, view: QAbstractItemView, model: QAbstractItemModel, text: str,
                 button: str, action: Callable[[], Any]) -> None:
        super().__init__(view.viewport())
        self._model = model
        self.label = QLabel(text)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setWordWrap(True)
        self.label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.button = QPushButton(button)
        self.button.setAccessibleName(button.rstrip("…"))
        self.button.clicked.connect(lambda _checked=False: action())
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.label)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        view.viewport().installEventFilter(self)
        for signal in (model.modelReset, model.rowsInserted, model.rowsRemoved):
            signal.connect(self.update_shown)
        self.setGeometry(view.viewport().rect())
        self.update_shown()

    def update_shown(self, *_args: Any) -> None:
        self.setVisible(self._model.rowCount() == 0)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and isinstance(watched, QWidget):
            self.setGeometry(watched.rect())
        return False


class PageShortcuts(QObject):
    """Ctrl+F, F5 and Delete of one page (see the module doc for their scope).

    Each attribute is the ``QShortcut`` or None when the page has no such action."""

    def __init__(self, page: QWidget, *, filter_edit: QLineEdit | None = None,
                 refresh: Callable[[], Any] | None = None,
                 delete: Callable[[], Any] | None = None,
                 list_view: QWidget | None = None) -> None:
        super().__init__(page)
        self.filter: QShortcut | None = None
        self.refresh: QShortcut | None = None
        self.delete: QShortcut | None = None
        if filter_edit is not None:
            edit = filter_edit
            self.filter = QShortcut(QKeySequence.StandardKey.Find, page)
            self.filter.activated.connect(lambda: focus_filter(edit))
        if refresh is not None:
            self.refresh = QShortcut(QKeySequence(Qt.Key.Key_F5), page)
            self.refresh.activated.connect(lambda: refresh())
        if delete is not None:
            self.delete = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete),
                                    list_view or page)
            self.delete.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.delete.activated.connect(lambda: delete())


def install_page_shortcuts(page: QWidget, *, filter_edit: QLineEdit | None = None,
                           refresh: Callable[[], Any] | None = None,
                           delete: Callable[[], Any] | None = None,
                           list_view: QWidget | None = None) -> PageShortcuts:
    return PageShortcuts(page, filter_edit=filter_edit, refresh=refresh, delete=delete,
                         list_view=list_view)


def focus_filter(edit: QLineEdit) -> None:
    edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
    edit.selectAll()


def confirm(parent: QWidget, *, title: str, text: str, detail: str = "", button: str,
            then: Callable[..., Any], check: str = "") -> QMessageBox:
    """Ask before a destructive action with a non-blocking box (``open()``); ``then``
    runs only when ``button`` was clicked. Cancel is the default and the Escape answer.
    With ``check`` (an unticked option's text), ``then(ticked)`` gets its state.
    The box deletes itself when answered; keep the returned reference while it shows."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=parent)
    option = QCheckBox(check) if check else None
    if option is not None:
        option.setAccessibleName(check)
        box.setCheckBox(option)
    box.setAccessibleName(title)
    if detail:
        box.setInformativeText(detail)
        box.setStyleSheet("QLabel#qt_msgbox_informativelabel { min-width: 340px; }")
    yes = box.addButton(button, QMessageBox.ButtonRole.DestructiveRole)
    yes.setAccessibleName(button)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    cancel.setAccessibleName("Cancel")
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)

    def finished(_result: int) -> None:
        if box.clickedButton() is yes:
            if option is not None:
                then(option.isChecked())
            else:
                then()
        box.deleteLater()

    box.finished.connect(finished)
    box.open()
    return box


def install_context_menu(
    view: QTableView | QTreeView, build: Callable[[], QMenu]
) -> None:
    """Right-click on ``view``: select the row under the pointer (if any), then pop up
    the menu ``build()`` makes for the selection."""
    view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def show(pos: QPoint) -> None:
        index = view.indexAt(pos)
        selection = view.selectionModel()
        if index.isValid() and selection is not None:
            selection.setCurrentIndex(
                index,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
        build().popup(view.viewport().mapToGlobal(pos))

    view.customContextMenuRequested.connect(show)


def add_action(menu: QMenu, text: str, slot: Callable[[], Any], *, enabled: bool = True,
               shortcut: QKeySequence | QKeySequence.StandardKey | None = None) -> QAction:
    """A menu entry that calls ``slot()`` (the shortcut is shown, the page owns it)."""
    action = menu.addAction(text)
    action.triggered.connect(lambda _checked=False: slot())
    action.setEnabled(enabled)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    return action


class NaturalOrderProxy(QSortFilterProxyModel):
    """Sorts the loaded rows by any column, except that the source's own order (say,
    newest first) maps to "no sort": the proxy then compares nothing, however many live
    rows arrive. ``natural`` is that (column, order)."""

    def __init__(self, natural: tuple[int, Qt.SortOrder], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._natural = natural

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if (column, order) == self._natural:
            super().sort(-1, Qt.SortOrder.AscendingOrder)
        else:
            super().sort(column, order)
