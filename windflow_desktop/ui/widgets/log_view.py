"""``LogView``: a read-only, bounded log viewer that appends lines in batches.

Feed it with ``append_lines(batch)`` (one document edit per batch, however many lines)
or ``queue_line(line)`` (coalesced by a timer into one batch per ``flush_ms``). It keeps
the last ``max_lines`` lines, follows the end unless the user scrolled up ("Follow" is
then unticked), and can be cleared. Used for container logs and deployment logs.

Signals:
    sig_follow_changed(bool): the "Follow" toggle changed.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QWidget,
)

from .layouts import vbox


class LogView(QWidget):
    sig_follow_changed = Signal(bool)

    def __init__(self, title: str = "Logs", *, max_lines: int = 10_000, flush_ms: int = 50,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(title)
        self.title = QLabel(title)
        self.title.setObjectName("logTitle")
        self.state = QLabel("")
        self.state.setAccessibleName("Log state")
        self.follow = QCheckBox("Follow")
        self.follow.setAccessibleName(f"Follow {title.lower()}")
        self.follow.setChecked(True)
        self.follow.setToolTip("Keep showing the newest lines")
        self.follow.toggled.connect(self._on_follow)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setAccessibleName(f"Clear {title.lower()}")
        self.clear_button.clicked.connect(self.clear)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setAccessibleName(f"{title} text")
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setMaximumBlockCount(max_lines)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        self._pending: list[str] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(flush_ms)
        self._timer.timeout.connect(self.flush)
        self.lines_appended = 0
        self.batches = 0

        bar = QHBoxLayout()
        bar.addWidget(self.title)
        bar.addWidget(self.state, 1, Qt.AlignmentFlag.AlignLeft)
        bar.addWidget(self.follow)
        bar.addWidget(self.clear_button)
        vbox(self, bar, (self.text, 1), margins=(0, 0, 0, 0))

    def set_state(self, text: str) -> None:
        self.state.setText(text)

    def queue_line(self, line: str) -> None:
        self._pending.append(line)
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            self.append_lines(batch)

    def append_lines(self, lines: Sequence[str]) -> None:
        """Append a batch as one edit; scroll to the end when following."""
        if not lines:
            return
        self.text.appendPlainText("\n".join(lines))
        self.lines_appended += len(lines)
        self.batches += 1
        if self.follow.isChecked():
            self.text.moveCursor(QTextCursor.MoveOperation.End)
            bar = self.text.verticalScrollBar()
            bar.setValue(bar.maximum())

    def plain_text(self) -> str:
        return self.text.toPlainText()

    def clear(self) -> None:
        self._pending.clear()
        self.text.clear()

    def _on_follow(self, on: bool) -> None:
        if on:
            bar = self.text.verticalScrollBar()
            bar.setValue(bar.maximum())
        self.sig_follow_changed.emit(on)

    def _on_scrolled(self, value: int) -> None:
        # Scrolling up stops following; back at the bottom, following resumes.
        at_end = value >= self.text.verticalScrollBar().maximum() - 2
        if at_end != self.follow.isChecked():
            self.follow.blockSignals(True)
            self.follow.setChecked(at_end)
            self.follow.blockSignals(False)
            self.sig_follow_changed.emit(at_end)
