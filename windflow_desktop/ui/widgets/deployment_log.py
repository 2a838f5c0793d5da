"""``LogPanel``: the selected deployment's log on the Deployments page — a read-only,
paged view bound to ``DeploymentsStore``.

New lines append in one edit per batch and the view stays at the bottom while ``follow``
is on (scrolling up pauses it). Only the newest page is read on selection; older pages
come before the lines shown when the user scrolls to the top or presses "Load older
lines" (a bar above the text, shown while older lines are stored). The view keeps at
most ``MAX_LOG_LINES`` lines: past that, live lines push the oldest out and no older
page is loaded.

Signals:
    sig_older_requested(): the user wants the page before the oldest line shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QResizeEvent, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QPushButton, QWidget

MAX_LOG_LINES = 200_000


def log_text(rows: Sequence[Any]) -> str:
    """Rows (``DeploymentLog``-shaped) as text: system lines carry their stream."""
    return "\n".join((f"[{r.stream.value}] " if r.stream.value == "system" else "") + r.line
                     for r in rows)


class LogPanel(QPlainTextEdit):
    sig_older_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setAccessibleName("Deployment log")
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setMaximumBlockCount(MAX_LOG_LINES)
        self.setUndoRedoEnabled(False)
        font = self.font()
        font.setFamily("monospace")
        self.setFont(font)
        self.follow = True
        self.line_count = 0
        self.has_older = False
        self.older_button = QPushButton("Load older lines", self)
        self.older_button.setAccessibleName("Load older log lines")
        self.older_button.setToolTip("Show the lines before the first one shown "
                                     "(or scroll to the top)")
        self.older_button.clicked.connect(self.sig_older_requested.emit)
        self.older_button.hide()
        self._last_value = 0
        self.verticalScrollBar().valueChanged.connect(self._on_scrolled)

    def bind(self, store: Any) -> None:
        """Follow ``store`` (a ``DeploymentsStore``): its selected deployment's log."""
        store.sig_log_reset.connect(self.reset)
        store.sig_log_appended.connect(self.append_lines)
        store.sig_log_prepended.connect(self.prepend_lines)
        store.sig_log_older_changed.connect(self.set_has_older)
        self.sig_older_requested.connect(store.load_older_log)

    def append_lines(self, rows: Sequence[Any]) -> None:
        if not rows:
            return
        bar = self.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 2
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.beginEditBlock()
        if self.line_count:
            cursor.insertText("\n")
        cursor.insertText(log_text(rows))
        cursor.endEditBlock()
        self.line_count = min(self.line_count + len(rows), MAX_LOG_LINES)
        if self.follow and at_bottom:
            bar.setValue(bar.maximum())

    def prepend_lines(self, rows: Sequence[Any]) -> None:
        """An older page before the first line, the lines in view staying in view."""
        room = MAX_LOG_LINES - self.line_count
        if not rows or room <= 0:
            self.set_has_older(self.has_older and room > 0)
            return
        rows = rows[-room:]
        bar = self.verticalScrollBar()
        value = bar.value()
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.Start)
        cursor.beginEditBlock()
        cursor.insertText(log_text(rows) + ("\n" if self.line_count else ""))
        cursor.endEditBlock()
        self.line_count += len(rows)
        self._last_value = value + len(rows)
        bar.setValue(self._last_value)  # one block per line (no wrapping)

    def set_has_older(self, value: bool) -> None:
        self.has_older = value and self.line_count < MAX_LOG_LINES
        self.older_button.setVisible(self.has_older)
        height = self.older_button.sizeHint().height() if self.has_older else 0
        self.setViewportMargins(0, height, 0, 0)
        self._place_button()

    def reset(self) -> None:
        self.set_has_older(False)  # first: clearing scrolls to the top
        self._last_value = 0
        self.clear()
        self.line_count = 0

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_button()

    def _place_button(self) -> None:
        area = self.contentsRect()
        self.older_button.setGeometry(area.left(), area.top(), area.width(),
                                      self.older_button.sizeHint().height())

    def _on_scrolled(self, value: int) -> None:
        # Scrolled up to the top by the user (not a page too short to scroll): ask for more.
        moved_up = value < self._last_value
        self._last_value = value
        if moved_up and value == self.verticalScrollBar().minimum() and self.has_older:
            self.sig_older_requested.emit()
