"""Helpers shared by the tests (a test imports no other test module nor a conftest),
cut out of ``tests/gui/ui/test_auth_dialogs.py``."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLineEdit
from pytestqt.qtbot import QtBot

from tests.support.auth import PASSWORD
from tests.support.qt import Workspace
from windflow_desktop.ui.dialogs.first_run import FirstRunDialog
from windflow_desktop.ui.dialogs.login import LoginDialog

WAIT_MS = 15_000


def type_into(qtbot: QtBot, edit: QLineEdit, text: str) -> None:
    edit.setFocus()
    edit.clear()
    qtbot.keyClicks(edit, text)


def click(qtbot: QtBot, button: object) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # type: ignore[arg-type]


def set_up(ws: Workspace) -> None:
    ws.run(ws.services.auth.setup(username="alice", email="alice@example.test",
                                  password=PASSWORD, organization_name="Acme"))


def open_dialog(qtbot: QtBot, dialog: QDialog) -> QDialog:
    qtbot.addWidget(dialog)
    dialog.open()
    qtbot.waitExposed(dialog)
    return dialog


def fill_first_run(qtbot: QtBot, d: FirstRunDialog, *, confirm: str = PASSWORD,
                   email: str = "alice@example.test") -> None:
    type_into(qtbot, d.username, "alice")
    type_into(qtbot, d.email, email)
    type_into(qtbot, d.full_name, "Alice Martin")
    type_into(qtbot, d.password, PASSWORD)
    type_into(qtbot, d.confirm, confirm)
    type_into(qtbot, d.organization, "Acme Ops")


def sign_in(qtbot: QtBot, d: LoginDialog, login: str, password: str) -> None:
    type_into(qtbot, d.login, login)
    type_into(qtbot, d.password, password)
    click(qtbot, d.submit_button)
