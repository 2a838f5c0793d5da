"""``FirstRunDialog``: create the owner account and the first organization of an empty
workspace, then sign in (optionally remembered on this computer)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QWidget

from ...stores.session import SessionStore
from ..widgets.forms import (
    Field,
    FormDialog,
    email_problem,
    line_edit,
    password_problem,
    username_problem,
)


class FirstRunDialog(FormDialog):
    """Accepted once the workspace is set up and the owner is signed in (read the session
    from the ``SessionStore``); rejected when the user quits instead."""

    def __init__(self, session: SessionStore, parent: QWidget | None = None, *,
                 on_change_place: Callable[[], None] | None = None) -> None:
        super().__init__(
            session,
            title="Set up WindFlow Desktop",
            heading="Welcome to WindFlow Desktop",
            blurb="Create the owner account of this workspace and its first organization. "
                  "You can invite your team once you are in.",
            submit_text="Create workspace",
            busy_text="Creating workspace…",
            cancel_text="Quit",
            parent=parent,
        )
        self.session = session
        if on_change_place is not None:
            self.add_place("On this computer. Joining a team? Use its WindFlow server.",
                           on_change_place)
        self.add_section("Your account")
        self.username = line_edit("Username", placeholder="e.g. alice")
        self.email = line_edit("Email", placeholder="name@example.com")
        self.full_name = line_edit("Full name", placeholder="Optional")
        self.password = line_edit("Password", password=True)
        self.confirm = line_edit("Confirm password", password=True)
        self.username_field = self.add_field("&Username:", self.username)
        self.email_field = self.add_field("&Email:", self.email)
        self.add_field("&Full name:", self.full_name)
        self.password_field = self.add_field("&Password:", self.password,
                                             hint="At least 8 characters")
        self.confirm_field = self.add_field("C&onfirm password:", self.confirm)
        self.add_section("Organization")
        self.organization = line_edit("Organization name", placeholder="e.g. Acme Ops")
        self.organization_field = self.add_field("&Name:", self.organization)
        self.remember = self.add_checkbox("&Remember me on this computer", "Remember me")
        self.username.setFocus()

    def _problem(self, field: Field) -> str | None:
        if field is self.username_field:
            return username_problem(self.username.text())
        if field is self.email_field:
            return email_problem(self.email.text())
        if field is self.password_field:
            return password_problem(self.password.text())
        if field is self.confirm_field:
            if not self.confirm.text():
                return "type the password again"
            if self.confirm.text() != self.password.text():
                return "the two passwords differ"
            return None
        if field is self.organization_field:
            return None if self.organization.text().strip() else "name your organization"
        return None

    def validate_field(self, field: Field) -> bool:
        problem = self._problem(field)
        field.set_error(problem)
        return problem is None

    def validate(self) -> bool:
        fields = (self.username_field, self.email_field, self.password_field,
                  self.confirm_field, self.organization_field)
        return all([self.validate_field(f) for f in fields])

    def start(self) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = self.session.setup(
            username=self.username.text().strip(),
            email=self.email.text().strip(),
            password=self.password.text(),
            organization_name=self.organization.text().strip(),
            full_name=self.full_name.text().strip(),
            remember=self.remember.isChecked(),
        )
        return task

    def succeeded(self, result: Any) -> None:
        self.password.clear()
        self.confirm.clear()
        self.accept()
