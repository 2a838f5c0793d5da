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

from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QObject,
    QPoint,
    QSettings,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QHeaderView,
    QLineEdit,
    QMenu,
    QMessageBox,
    QTableView,
    QTreeView,
    QWidget,
)

SAVE_DELAY_MS = 400


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
        self.restore()
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
