"""``IdleLock``: after a stretch without keyboard or mouse input the window hides its
pages and asks for the password again (``settings.idle_lock_s``, 8 h by default).

Input anywhere in the application restarts the countdown. While locked, the pages and
the app's other windows (a dialog left open) are hidden behind the unlock dialog; the
unlock shows them again. "Sign out" there signs out (and closes those windows), and a
session that ends meanwhile (signed out elsewhere) closes the dialog: the sign-in prompt
follows.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QMainWindow, QWidget

from ..stores.session import SessionStore
from .dialogs.unlock import UnlockDialog

_INPUT = frozenset({
    QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove,
    QEvent.Type.Wheel, QEvent.Type.TouchBegin,
})


class IdleLock(QObject):
    """Signals:
    sig_locked_changed(bool): the window was locked (True) or unlocked (False).
    """

    sig_locked_changed = Signal(bool)

    def __init__(self, session: SessionStore, window: QMainWindow, timeout_s: float) -> None:
        super().__init__(window)
        self._session = session
        self._window = window
        self.dialog: UnlockDialog | None = None
        self._hidden: list[QWidget] = []  # the app's other windows, while locked
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(max(1, round(timeout_s * 1000)))
        self._timer.timeout.connect(self.lock)
        self._app = QApplication.instance()
        if self._app is not None:
            self._app.installEventFilter(self)
        session.sig_session_changed.connect(self._session_changed)
        self._session_changed()

    @property
    def locked(self) -> bool:
        return self.dialog is not None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _INPUT and not self.locked and self._timer.isActive():
            self._timer.start()
        return False

    def lock(self) -> None:
        if self.locked or not self._session.signed_in:
            return
        central = self._window.centralWidget()
        if central is not None:
            central.hide()
        self._hide_other_windows()
        self.dialog = UnlockDialog(self._session, parent=self._window)
        self.dialog.accepted.connect(self._unlocked)
        self.dialog.rejected.connect(self._sign_out)
        self.dialog.open()
        self.sig_locked_changed.emit(True)

    def _hide_other_windows(self) -> None:
        """Hide the app's other visible windows (dialogs left open over the pages); the
        unlock shows them again. Menus and tooltips close by themselves."""
        for widget in QApplication.topLevelWidgets():
            if (widget is not self._window and widget.isVisible()
                    and widget.windowType() not in (Qt.WindowType.Popup,
                                                    Qt.WindowType.ToolTip)):
                widget.hide()
                self._hidden.append(widget)

    def _unlocked(self) -> None:
        self._close_dialog(restore=True)
        if self._session.signed_in:
            self._timer.start()

    def _sign_out(self) -> None:
        self._close_dialog()
        if self._session.signed_in:
            self._session.logout()

    def _close_dialog(self, *, restore: bool = False) -> None:
        dialog, self.dialog = self.dialog, None
        if dialog is None:
            return
        central = self._window.centralWidget()
        if central is not None:
            central.show()
        hidden, self._hidden = self._hidden, []
        for widget in hidden:
            if not shiboken6.isValid(widget):  # deleted by its owner meanwhile
                continue
            if restore:
                widget.show()
            else:  # signed out: what they showed was the previous session's
                widget.close()
        dialog.deleteLater()
        self.sig_locked_changed.emit(False)

    def _session_changed(self) -> None:
        if self._session.signed_in:
            if not self.locked:
                self._timer.start()
            return
        self._timer.stop()
        if self.dialog is not None:
            self.dialog.rejected.disconnect(self._sign_out)
            self.dialog.done(0)
            self._close_dialog()

    def shutdown(self) -> None:
        """Stop watching input and the session (idempotent)."""
        self._timer.stop()
        if self._app is not None:
            self._app.removeEventFilter(self)
            self._app = None
            self._session.sig_session_changed.disconnect(self._session_changed)
