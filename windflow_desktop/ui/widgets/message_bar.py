"""``MessageBar``: a non-modal strip that shows an expected error or a notice in place —
inside a page, a dialog or across the top of the window — with optional action buttons.

Expected errors never become a modal box or a traceback: a store's ``sig_error(code,
message)`` connects straight to ``show_error``. One message at a time; a new one
replaces the old. Success notes may time out; errors and warnings stay until dismissed,
or until the page's next action succeeds (``clear_on_success``): a message belongs to
the action that caused it, and a later success must not read as if it failed too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStyle,
    QToolButton,
    QWidget,
)


class Level(StrEnum):
    INFO = "info"
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"


_COLORS = {
    # background, border, text
    Level.INFO: ("#e8f1fb", "#9cc3ea", "#0b3d6e"),
    Level.SUCCESS: ("#e7f5ea", "#98d1a5", "#17502a"),
    Level.WARNING: ("#fff6e0", "#f0c36d", "#6b4a00"),
    Level.ERROR: ("#fdecea", "#f1a9a0", "#8a1c12"),
}
_ICONS = {
    Level.INFO: QStyle.StandardPixmap.SP_MessageBoxInformation,
    Level.SUCCESS: QStyle.StandardPixmap.SP_DialogApplyButton,
    Level.WARNING: QStyle.StandardPixmap.SP_MessageBoxWarning,
    Level.ERROR: QStyle.StandardPixmap.SP_MessageBoxCritical,
}

Action = tuple[str, Callable[[], object]]


def as_sentence(message: str) -> str:
    """Service messages are lower-case clauses; on screen they read as sentences."""
    text = message.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?…" else text + "."


class MessageBar(QFrame):
    """Signals:
    sig_dismissed(): the user closed the message (or an action button did).
    """

    sig_dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.setAccessibleName("Message")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self._level = Level.INFO
        self._code = ""
        self._icon = QLabel()
        self._icon.setFixedSize(18, 18)
        self._text = QLabel()
        self._text.setObjectName("messageText")
        self._text.setWordWrap(True)
        self._text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._buttons: list[QPushButton] = []
        self._close = QToolButton()
        self._close.setText("✕")
        self._close.setAutoRaise(True)
        self._close.setToolTip("Dismiss")
        self._close.setAccessibleName("Dismiss message")
        self._close.clicked.connect(self.dismiss)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(10, 6, 6, 6)
        self._layout.setSpacing(8)
        self._layout.addWidget(self._icon, 0, Qt.AlignmentFlag.AlignTop)
        self._layout.addWidget(self._text, 1)
        self._layout.addWidget(self._close, 0, Qt.AlignmentFlag.AlignTop)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.clear)
        self._shown = 0  # how many messages were shown so far (see ``clear_on_success``)
        self.hide()

    # -- state -----------------------------------------------------------------------

    def text(self) -> str:
        """The message on show ("" when hidden)."""
        return "" if self.isHidden() else self._text.text()

    @property
    def level(self) -> Level:
        return self._level

    @property
    def code(self) -> str:
        return self._code

    @property
    def shown(self) -> bool:
        return not self.isHidden()

    def action_buttons(self) -> Sequence[QPushButton]:
        return tuple(self._buttons)

    # -- showing ---------------------------------------------------------------------

    def show_message(
        self,
        text: str,
        level: Level | str = Level.INFO,
        *,
        actions: Sequence[Action] = (),
        timeout_ms: int = 0,
        code: str = "",
    ) -> None:
        level = Level(level)
        self._level, self._code = level, code
        self._text.setText(as_sentence(text))
        self._icon.setPixmap(self.style().standardIcon(_ICONS[level]).pixmap(18, 18))
        background, border, color = _COLORS[level]
        self.setStyleSheet(
            f"#messageBar {{ background: {background}; border: 1px solid {border};"
            f" border-radius: 6px; }}"
            f" #messageText {{ color: {color}; }}"
            f" QToolButton {{ color: {color}; border: none; padding: 2px 6px; }}"
        )
        self._set_actions(actions)
        self._shown += 1
        self.setAccessibleDescription(f"{level.value}: {self._text.text()}")
        self._timer.stop()
        if timeout_ms > 0:
            self._timer.start(timeout_ms)
        self.show()

    def show_error(self, code: str, message: str) -> None:
        """Slot for ``Store.sig_error(code, message)``."""
        self.show_message(message, Level.ERROR, code=code)

    def show_warning(self, message: str, *, actions: Sequence[Action] = ()) -> None:
        self.show_message(message, Level.WARNING, actions=actions)

    def show_success(self, message: str, timeout_ms: int = 6000) -> None:
        self.show_message(message, Level.SUCCESS, timeout_ms=timeout_ms)

    def clear(self) -> None:
        """Hide without telling anyone (a newer state made the message moot)."""
        self._timer.stop()
        self._code = ""
        self._text.clear()
        self._set_actions(())
        self.hide()

    def dismiss(self) -> None:
        self.clear()
        self.sig_dismissed.emit()

    def clear_on_success(self, task: asyncio.Task[Any] | None, store: Any) -> None:
        """When ``task`` (an action of ``store`` the page started) succeeds, clear the error
        or warning shown before it started; a message shown since (its own, or a later
        action's) stays."""
        if task is None:
            return
        before = self._shown

        def done(t: asyncio.Task[Any]) -> None:
            if not shiboken6.isValid(self) or t.cancelled() or t.exception() is not None:
                return
            if store.error_of(t) is None and self._shown == before and \
                    self._level in (Level.ERROR, Level.WARNING):
                self.clear()

        task.add_done_callback(done)

    def bind(self, store: QObject) -> None:
        """Show the expected errors of ``store`` (anything with ``sig_error(str, str)``)."""
        store.sig_error.connect(self.show_error)  # type: ignore[attr-defined]

    def unbind(self, store: QObject) -> None:
        store.sig_error.disconnect(self.show_error)  # type: ignore[attr-defined]

    # -- helpers ---------------------------------------------------------------------

    def _set_actions(self, actions: Sequence[Action]) -> None:
        for button in self._buttons:
            self._layout.removeWidget(button)
            button.deleteLater()
        self._buttons = []
        for position, (label, callback) in enumerate(actions, start=2):
            button = QPushButton(label)
            button.setAccessibleName(label.replace("&", "").rstrip("…."))
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(lambda _=False, cb=callback: self._run_action(cb))
            self._layout.insertWidget(position, button, 0, Qt.AlignmentFlag.AlignTop)
            self._buttons.append(button)

    def _run_action(self, callback: Callable[[], object]) -> None:
        self.dismiss()
        callback()


def keyring_notice(bar: MessageBar, message: str) -> None:
    """The plain "no keyring" notice: signed in, but this session will not be remembered."""
    bar.show_warning(
        f"{as_sentence(message)} You are signed in, but this session cannot be remembered: "
        "you will be asked to sign in next time. No secret is stored in clear text.",
        actions=(("Continue without remembering", lambda: None),),
    )
