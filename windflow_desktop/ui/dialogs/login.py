"""``LoginDialog``: sign in with username or email and password; "remember me" keeps
the session in the system keyring so the next start skips this dialog."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtWidgets import QWidget

from ...stores.session import SessionStore
from ..widgets.forms import Field, FormDialog, line_edit


class LoginDialog(FormDialog):
    """Accepted once signed in (read the session from the ``SessionStore``); rejected
    when the user quits instead. Wrong password, disabled account and lockout (with the
    wait) show in the dialog's message bar."""

    def __init__(
        self,
        session: SessionStore,
        *,
        workspace: str = "",
        login: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            session,
            title="Sign in — WindFlow Desktop",
            heading="Sign in",
            blurb=f"Workspace: {workspace}" if workspace else "",
            submit_text="Sign in",
            busy_text="Signing in…",
            cancel_text="Quit",
            parent=parent,
        )
        self.session = session
        self.login = line_edit("Username or email")
        self.login.setText(login)
        self.password = line_edit("Password", password=True)
        self.login_field = self.add_field("&Username or email:", self.login)
        self.password_field = self.add_field("&Password:", self.password)
        self.remember = self.add_checkbox("&Remember me on this computer", "Remember me")
        self.remember.setToolTip("Keeps you signed in for 7 days, in the system keyring.")
        (self.password if login else self.login).setFocus()

    def validate_field(self, field: Field) -> bool:
        if field is self.login_field:
            problem = None if self.login.text().strip() else "enter your username or email"
        elif field is self.password_field:
            problem = None if self.password.text() else "enter your password"
        else:
            problem = None
        field.set_error(problem)
        return problem is None

    def validate(self) -> bool:
        return all([self.validate_field(self.login_field),
                    self.validate_field(self.password_field)])

    def start(self) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = self.session.login(
            self.login.text().strip(), self.password.text(), remember=self.remember.isChecked()
        )
        return task

    def succeeded(self, result: Any) -> None:
        self.password.clear()
        self.accept()

    def failed(self, code: str, message: str) -> None:
        super().failed(code, message)
        self.password.clear()
        self.password.setFocus()
