"""``TerminalDialog``: a shell in a container, in a window of its own (not modal: the
Containers page stays usable, and several terminals can be open).

A shell chooser (sh, bash) opens the shell again with the chosen one; when the shell
ends (``exit``) the window closes — unless it ended at once with an error (the shell is
missing, the container stopped): then the window stays, with the reason on its screen
and in its status line, so another shell can be chosen. Closing the window ends the shell.
"""

from __future__ import annotations

import time
import uuid

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QComboBox, QDialog, QLabel, QPushButton, QWidget

from ...stores.terminal import SHELLS, Terminal, TerminalStore
from ..widgets.layouts import hbox, vbox
from ..widgets.message_bar import MessageBar
from ..widgets.terminal import TerminalView

QUICK_END_S = 2.0  # a shell that ended with an error this soon did not start


class TerminalDialog(QDialog):
    def __init__(self, store: TerminalStore, target_id: uuid.UUID, container_id: str,
                 title: str, shell: str = "sh", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.target_id = target_id
        self.container_id = container_id
        self.setWindowTitle(f"Terminal — {title}")
        self.setAccessibleName("Container terminal")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setModal(False)
        self.terminal: Terminal | None = None
        self.messages = MessageBar()
        self.shell_combo = QComboBox()
        self.shell_combo.setAccessibleName("Shell")
        self.shell_combo.addItems(list(SHELLS))
        self.shell_combo.setCurrentText(shell)
        self.shell_combo.setToolTip("The shell to run in the container")
        self.reopen_button = QPushButton("Open again")
        self.reopen_button.setAccessibleName("Open the shell again")
        self.status = QLabel("")
        self.status.setAccessibleName("Terminal status")
        self.view = TerminalView()
        self.view.setMinimumSize(*self.view.size_for(40, 8))
        vbox(self, self.messages,
             hbox(QLabel("Shell"), self.shell_combo, self.reopen_button, None, self.status),
             (self.view, 1))
        self.resize(self.view.size_for(100, 30)[0] + 24, self.view.size_for(100, 30)[1] + 90)
        self.view.sig_input.connect(self._input)
        self.view.sig_resized.connect(self._resized)
        self.shell_combo.currentTextChanged.connect(lambda _s: self.open_shell())
        self.reopen_button.clicked.connect(self.open_shell)
        self.open_shell()

    def open_shell(self) -> None:
        """(Re)open the shell chosen in the combo; a running one is ended first."""
        if self.terminal is not None:
            self._detach().close()
        shell = self.shell_combo.currentText()
        self.messages.clear()
        self.view.feed(b"\x1b[2J\x1b[H")
        self.status.setText(f"Opening {shell}…")
        self.reopen_button.setEnabled(False)
        terminal = self.terminal = self.store.open(
            self.target_id, self.container_id, shell, cols=self.view.cols, rows=self.view.rows)
        terminal.sig_opened.connect(self._opened)
        terminal.sig_output.connect(self.view.feed)
        terminal.sig_ended.connect(self._ended)
        self.view.setFocus()

    def _detach(self) -> Terminal:
        terminal = self.terminal
        assert terminal is not None
        for signal, slot in ((terminal.sig_opened, self._opened),
                             (terminal.sig_output, self.view.feed),
                             (terminal.sig_ended, self._ended)):
            signal.disconnect(slot)
        self.terminal = None
        return terminal

    def _input(self, data: bytes) -> None:
        if self.terminal is not None:
            self.terminal.write(data)

    def _resized(self, cols: int, rows: int) -> None:
        if self.terminal is not None:
            self.terminal.resize(cols, rows)
            if self.terminal.state == "open":  # the size shown is the shell's
                self.status.setText(f"{self.terminal.shell} · {cols} x {rows}")

    def _opened(self) -> None:
        if self.terminal is not None:
            self.status.setText(f"{self.terminal.shell} · {self.view.cols} x {self.view.rows}")
            # The view may have been resized while the shell was opening.
            self.terminal.resize(self.view.cols, self.view.rows)

    def _ended(self, exit_code: object) -> None:
        terminal = self._detach()
        self.reopen_button.setEnabled(True)
        quick = terminal.opened_at is None or time.monotonic() - terminal.opened_at < QUICK_END_S
        if (exit_code in (0, None) and terminal.opened_at is not None) or not quick:
            self.status.setText("The shell ended")
            QTimer.singleShot(0, self.close)
            return
        code = f" (exit code {exit_code})" if exit_code is not None else ""
        self.status.setText(f"{terminal.shell} did not start{code}")
        if terminal.error:
            self.messages.show_error("TERMINAL", terminal.error)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.terminal is not None:
            self._detach().close()
        super().closeEvent(event)
