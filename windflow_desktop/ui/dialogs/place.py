"""Where the desktop works: ``Place`` (this computer's workspace, or a WindFlow server
with its address and an optional CA file) remembered in the window settings with the
recent servers, and ``PlaceDialog`` to choose it."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSettings, QUrl
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QWidget,
)

from ..widgets.layouts import vbox
from ..widgets.message_bar import Level, MessageBar

MAX_RECENT = 8


@dataclass(frozen=True)
class Place:
    server: str = ""  # the server's address; "" is this computer's workspace
    ca_file: str = ""
    username: str = ""  # who signed in there last (their kept session is looked up)

    @property
    def local(self) -> bool:
        return not self.server

    def describe(self) -> str:
        return "This computer" if self.local else self.server


def load_place(settings: QSettings) -> Place:
    return Place(str(settings.value("place/server", "") or ""),
                 str(settings.value("place/ca_file", "") or ""),
                 str(settings.value("place/username", "") or ""))


def save_place(settings: QSettings, place: Place) -> None:
    settings.setValue("place/server", place.server)
    settings.setValue("place/ca_file", place.ca_file)
    settings.setValue("place/username", place.username)
    if place.server:
        recent = [place.server, *(s for s in recent_servers(settings) if s != place.server)]
        settings.setValue("place/recent", recent[:MAX_RECENT])
    settings.sync()


def recent_servers(settings: QSettings) -> list[str]:
    value = settings.value("place/recent", []) or []
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return [str(v) for v in items if v]


def server_problem(text: str) -> str | None:
    """Why ``text`` is not a server address one can connect to (None: it is)."""
    url = QUrl(text.strip())
    if not text.strip():
        return "enter the server's address, e.g. https://windflow.example.com"
    if url.scheme() not in ("http", "https") or not url.host():
        return "the address starts with https:// (or http:// on a trusted network)"
    return None


class PlaceDialog(QDialog):
    """Choose this computer or a server; ``place`` holds the choice once accepted.
    ``problem``: why the last choice did not work (shown at the top)."""

    def __init__(self, current: Place, recent: list[str], *, problem: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.place = current
        self.setWindowTitle("Where to work — WindFlow Desktop")
        self.setAccessibleName("Where to work")
        self.setMinimumWidth(480)
        heading = QLabel("Where do you want to work?")
        heading.setStyleSheet("font-size: 17px; font-weight: 600;")
        self.message_bar = MessageBar()
        if problem:
            self.message_bar.show_message(problem, Level.ERROR)
        self.local_choice = QRadioButton("This computer — a workspace of your own, offline")
        self.server_choice = QRadioButton("A WindFlow server — your team's workspace")
        group = QButtonGroup(self)
        group.addButton(self.local_choice)
        group.addButton(self.server_choice)
        self.server = QComboBox()
        self.server.setEditable(True)
        self.server.setAccessibleName("Server address")
        self.server.addItems(recent)
        self.server.setCurrentText(current.server or (recent[0] if recent else "https://"))
        self.ca_file = QLineEdit(current.ca_file)
        self.ca_file.setAccessibleName("CA certificate file")
        self.ca_file.setPlaceholderText("only for a server with a certificate of its own CA")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_file, 1)
        ca_row.addWidget(browse)
        self.error = QLabel()
        self.error.setStyleSheet("color: #b3261e;")
        self.error.hide()
        form = QFormLayout()
        form.addRow("Address:", self.server)
        form.addRow("CA file:", ca_row)
        self.server_box = QWidget()
        self.server_box.setLayout(form)
        buttons = QDialogButtonBox()
        self.ok_button = buttons.addButton("Continue", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept_if_valid)
        buttons.rejected.connect(self.reject)
        (self.local_choice if current.local else self.server_choice).setChecked(True)
        self.local_choice.toggled.connect(self._follow)
        vbox(self, heading, self.message_bar, self.local_choice, self.server_choice,
             self.server_box, self.error, None, buttons, margins=(24, 20, 24, 16),
             spacing=8)
        self._follow()

    def _follow(self) -> None:
        self.server_box.setEnabled(self.server_choice.isChecked())
        self.error.hide()

    def _browse(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, "The server's CA certificate", "",
                                                "Certificates (*.pem *.crt);;All files (*)")
        if chosen:
            self.ca_file.setText(chosen)

    def choice(self) -> Place | str:
        """The place chosen, or why it cannot be used."""
        if self.local_choice.isChecked():
            return Place()
        address = self.server.currentText().strip().rstrip("/")
        problem = server_problem(address)
        if problem is not None:
            return problem
        same = address == self.place.server
        return Place(address, self.ca_file.text().strip(),
                     self.place.username if same else "")

    def _accept_if_valid(self) -> None:
        chosen = self.choice()
        if isinstance(chosen, str):
            self.error.setText(chosen)
            self.error.show()
            self.server.setFocus()
            return
        self.place = chosen
        self.accept()
