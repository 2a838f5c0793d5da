"""``UnsavedGuard``: knows whether an editor holds changes not saved yet, and before they
would be thrown away (another item chosen, a new one started, the app quitting) asks
Save / Discard / Cancel in a non-blocking box (``open()``, never ``exec()``: the event
loop and its tasks keep running while the question is on screen).

The page says what its content is (``current``), when that content is the saved one
(``mark_clean``), and how to save (``save``: returns the store's task, or None when
saving did not start); the guard says whether it is dirty and runs what was asked once
it is safe to.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

UNSAVED_MARK = "●"


class UnsavedGuard(QObject):
    """Signals:
    sig_dirty_changed(bool): the content became different from the saved one, or not.
    """

    sig_dirty_changed = Signal(bool)

    def __init__(self, parent: QWidget, current: Callable[[], object],
                 save: Callable[[], asyncio.Task[Any] | None], *,
                 error_of: Callable[[asyncio.Task[Any]], object]) -> None:
        super().__init__(parent)
        self._parent = parent
        self._current = current
        self._save = save
        self._error_of = error_of
        self._saved: object = current()
        self._dirty = False
        self.box: QMessageBox | None = None

    @property
    def dirty(self) -> bool:
        return self._dirty

    def mark_clean(self) -> None:
        """What is shown now is what is saved (loaded, saved, or thrown away)."""
        self._saved = self._current()
        self._set(False)

    def check(self) -> None:
        """The content may have changed: compare it with the saved one."""
        self._set(self._current() != self._saved)

    def ask(self, then: Callable[[], object], *, what: str = "the changes") -> None:
        """Run ``then`` now when nothing is unsaved; else once the user chose Save (and
        the save succeeded) or Discard; Cancel runs nothing."""
        self.check()
        if not self._dirty:
            then()
            return
        if self.box is not None:  # already asking: the newest request wins
            self.box.close()
        box = self.box = QMessageBox(
            QMessageBox.Icon.Question, "Unsaved changes", f"Save {what} first?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel, self._parent)
        box.setInformativeText("Discard throws away what you changed since the last save.")
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        box.setEscapeButton(QMessageBox.StandardButton.Cancel)

        def answered(result: int) -> None:
            if self.box is box:
                self.box = None
            box.deleteLater()
            if result == QMessageBox.StandardButton.Discard:
                self.mark_clean()
                then()
            elif result == QMessageBox.StandardButton.Save:
                self._save_then(then)

        box.finished.connect(answered)
        box.open()

    def _save_then(self, then: Callable[[], object]) -> None:
        task = self._save()
        if task is None:
            return

        def done(t: asyncio.Task[Any]) -> None:
            if not shiboken6.isValid(self) or t.cancelled() or t.exception() is not None:
                return
            if self._error_of(t) is None and t.result() is not None:
                self.mark_clean()
                then()

        task.add_done_callback(done)

    def _set(self, dirty: bool) -> None:
        if dirty != self._dirty:
            self._dirty = dirty
            self.sig_dirty_changed.emit(dirty)
