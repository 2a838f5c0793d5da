"""``ChangePasswordDialog``: the signed-in user changes their own password."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtWidgets import QWidget

from ...stores.session import SessionStore
from ..widgets.forms import Field, FormDialog, line_edit, password_problem


class ChangePasswordDialog(FormDialog):
    """Accepted once the password is changed (the session continues with new tokens);
    a wrong current password shows in the dialog."""

    def __init__(self, session: SessionStore, parent: QWidget | None = None) -> None:
        user = session.user
        super().__init__(
            session,
            title="Change password",
            heading="Change your password",
            blurb=f"Signed in as {user.username}." if user else "",
            submit_text="Change password",
            busy_text="Changing password…",
            parent=parent,
        )
        self.session = session
        self.current = line_edit("Current password", password=True)
        self.new = line_edit("New password", password=True)
        self.confirm = line_edit("Confirm new password", password=True)
        self.current_field = self.add_field("&Current password:", self.current)
        self.new_field = self.add_field("&New password:", self.new,
                                        hint="At least 8 characters")
        self.confirm_field = self.add_field("C&onfirm new password:", self.confirm)
        self.current.setFocus()

    def validate_field(self, field: Field) -> bool:
        problem: str | None = None
        if field is self.current_field:
            problem = None if self.current.text() else "enter your current password"
        elif field is self.new_field:
            problem = password_problem(self.new.text())
            if problem is None and self.new.text() == self.current.text():
                problem = "choose a password different from the current one"
        elif field is self.confirm_field:
            if not self.confirm.text():
                problem = "type the new password again"
            elif self.confirm.text() != self.new.text():
                problem = "the two passwords differ"
        field.set_error(problem)
        return problem is None

    def validate(self) -> bool:
        return all([self.validate_field(f)
                    for f in (self.current_field, self.new_field, self.confirm_field)])

    def start(self) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = self.session.change_password(self.current.text(),
                                                               self.new.text())
        return task

    def succeeded(self, result: Any) -> None:
        for edit in (self.current, self.new, self.confirm):
            edit.clear()
        self.accept()

    def failed(self, code: str, message: str) -> None:
        super().failed(code, message)
        self.current.clear()
        self.current.setFocus()
