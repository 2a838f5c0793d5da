"""The host-key question for a new SSH host, non-modal: ``ask_host_key(parent, prompt,
future)`` shows the fingerprint and resolves ``future`` with the answer (closing the box
is a no). Never ``exec()``: the event loop keeps running while the user reads.

``HostKeyAnswers`` shows every question of a ``HostKeyQuestions`` over one window,
whichever page or deployment raised it."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox, QWidget

from ...domain.models import HostKeyPrompt
from ...stores.host_keys import HostKeyQuestions


def ask_host_key(parent: QWidget | None, prompt: HostKeyPrompt,
                 future: asyncio.Future[bool]) -> QMessageBox:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Trust this host?")
    where = prompt.host if prompt.port == 22 else f"{prompt.host} port {prompt.port}"
    box.setText(f"WindFlow has not connected to {where} before.")
    box.setInformativeText(
        f"Its {prompt.key_type} host key has the fingerprint\n\n{prompt.fingerprint}\n\n"
        "Compare it with the server's own (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub). "
        "Trust it only if they match: WindFlow will then refuse any other key for this host."
    )
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    box.button(QMessageBox.StandardButton.Yes).setText("Trust and connect")
    box.button(QMessageBox.StandardButton.No).setText("Do not connect")
    box.setDefaultButton(QMessageBox.StandardButton.No)
    box.setAccessibleName("Host key confirmation")

    def answered(button: int) -> None:
        if not future.done():
            future.set_result(button == QMessageBox.StandardButton.Yes.value)

    box.finished.connect(answered)
    future.add_done_callback(lambda _f: box.close() if box.isVisible() else None)
    box.open()
    return box


class HostKeyAnswers(QObject):
    """Asks the user each question of ``questions`` over ``window``; ``boxes``: the open
    ones."""

    def __init__(self, questions: HostKeyQuestions, window: QWidget) -> None:
        super().__init__(window)
        self._window = window
        self.boxes: list[QMessageBox] = []
        questions.sig_asked.connect(self._ask)

    def _ask(self, prompt: HostKeyPrompt, future: asyncio.Future[bool]) -> None:
        box = ask_host_key(self._window, prompt, future)
        self.boxes.append(box)
        box.finished.connect(lambda _r: self.boxes.remove(box) if box in self.boxes else None)
