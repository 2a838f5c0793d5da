"""``AccessTokensPanel`` (Settings → Access tokens): the signed-in user's personal access
tokens for CI and scripts — name, prefix, expiry and last use; "New token…" shows the new
token's text once, with a Copy button; Revoke asks first."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QWidget,
)

from ...domain.identity import AccessToken
from ...domain.words import ago
from ...stores.access_tokens import DEFAULT_DAYS, AccessTokensStore
from ..models.base import Column, RowTableModel
from ..widgets.layouts import hbox, vbox
from ..widgets.list_tools import confirm, fit_columns, selected_row
from ..widgets.message_bar import MessageBar

COLUMNS: list[Column[AccessToken]] = [
    Column("Name", lambda t: t.name),
    Column("Starts with", lambda t: f"{t.prefix}…"),
    Column("Created", lambda t: ago(t.created_at)),
    Column("Expires", lambda t: t.expires_at.astimezone().strftime("%Y-%m-%d")),
    Column("Last used", lambda t: ago(t.last_used_at)),
]


class NewTokenDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New access token")
        self.name = QLineEdit()
        self.name.setAccessibleName("Token name")
        self.name.setPlaceholderText("e.g. CI of the web repository")
        self.days = QSpinBox()
        self.days.setRange(1, 365)
        self.days.setValue(DEFAULT_DAYS)
        self.days.setSuffix(" days")
        self.days.setAccessibleName("Valid for")
        form = QFormLayout()
        form.addRow("Name:", self.name)
        form.addRow("Valid for:", self.days)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Create")
        self.ok.setEnabled(False)
        self.name.textChanged.connect(lambda text: self.ok.setEnabled(bool(text.strip())))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        vbox(self, form, buttons)


class ShownOnceDialog(QDialog):
    """The new token's text, with Copy: it is never shown again."""

    def __init__(self, name: str, token: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Access token {name}")
        note = QLabel("Copy this token now: WindFlow keeps only its fingerprint and will "
                      "never show it again. Use it as WINDFLOW_SERVER_TOKEN.")
        note.setWordWrap(True)
        self.text = QLineEdit(token)
        self.text.setReadOnly(True)
        self.text.setAccessibleName("New access token")
        self.text.setMinimumWidth(420)
        self.copy = QPushButton("Copy")
        self.copy.clicked.connect(self._copy)
        done = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        done.rejected.connect(self.accept)
        vbox(self, note, hbox((self.text, 1), self.copy), done)

    def _copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text.text())
        self.copy.setText("Copied")


class AccessTokensPanel(QWidget):
    def __init__(self, store: AccessTokensStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setAccessibleName("Access tokens")
        self.message_bar = MessageBar()
        self.message_bar.bind(store)
        intro = QLabel("Personal access tokens let CI jobs and scripts act as you on this "
                       "server (WINDFLOW_SERVER_URL + WINDFLOW_SERVER_TOKEN).")
        intro.setWordWrap(True)
        self.model: RowTableModel[AccessToken] = RowTableModel(COLUMNS, key=lambda t: t.id)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.new_button = QPushButton("New token…")
        self.new_button.clicked.connect(self.ask_new)
        self.revoke_button = QPushButton("Revoke…")
        self.revoke_button.clicked.connect(self.ask_revoke)
        self._dialogs: list[Any] = []
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.revoke_button)
        buttons.addStretch(1)
        vbox(self, intro, self.message_bar, buttons, (self.table, 1))
        store.sig_tokens_changed.connect(self._reset)
        store.sig_created.connect(self._show_once)

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self.store.signed_in:
            self.store.load()

    def _reset(self) -> None:
        self.model.reset(self.store.tokens)
        fit_columns(self.table)

    def ask_new(self) -> None:
        dialog = NewTokenDialog(self)
        dialog.accepted.connect(lambda: self.store.create(dialog.name.text(),
                                                          dialog.days.value()))
        self._keep(dialog)

    def _show_once(self, name: str, token: str) -> None:
        self._keep(ShownOnceDialog(name, token, self))

    def ask_revoke(self) -> None:
        token = selected_row(self.table, AccessToken)
        if token is None:
            return
        self._dialogs.append(confirm(
            self, title="Revoke the access token?",
            text=f"Revoke {token.name} ({token.prefix}…)?",
            detail="Whatever uses it is refused from now on.", button="Revoke",
            then=lambda: self.store.revoke(token.id)))

    def _keep(self, dialog: QDialog) -> None:
        self._dialogs.append(dialog)
        dialog.finished.connect(lambda _r: self._dialogs.remove(dialog)
                                if dialog in self._dialogs else None)
        dialog.open()
