"""``UnlockDialog``: an idle window is locked; the signed-in user types their password
to go on (or signs out)."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtWidgets import QWidget

from ...stores.session import SessionStore
from ..widgets.forms import Field, FormDialog, line_edit


class UnlockDialog(FormDialog):
    """Accepted once the password is confirmed; "Sign out" rejects it (the caller signs
    out). A wrong password, or the throttle's wait, shows in the dialog."""

    def __init__(self, session: SessionStore, parent: QWidget | None = None) -> None:
        user = session.user
        super().__init__(
            session,
            title="Locked",
            heading="WindFlow is locked",
            blurb=(f"The window was idle. Type the password of {user.username} to go on."
                   if user else "The window was idle."),
            submit_text="Unlock",
            busy_text="Unlocking…",
            cancel_text="Sign out",
            parent=parent,
        )
        self.session = session
        self.password = line_edit("Password", password=True)
        self.password_field = self.add_field("&Password:", self.password)
        self.password.setFocus()

    def validate_field(self, field: Field) -> bool:
        problem = None if self.password.text() else "enter your password"
        field.set_error(problem)
        return problem is None

    def validate(self) -> bool:
        return self.validate_field(self.password_field)

    def start(self) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = self.session.unlock(self.password.text())
        return task

    def succeeded(self, result: Any) -> None:
        self.password.clear()
        self.accept()

    def failed(self, code: str, message: str) -> None:
        super().failed(code, message)
        self.password.clear()
        self.password.setFocus()
