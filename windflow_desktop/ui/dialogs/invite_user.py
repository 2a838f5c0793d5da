"""``InviteUserDialog``: give someone access to the current organization — a new account
with a first password, or an invitation to an account that already exists in this
workspace (a membership only once they accept it)."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtWidgets import QButtonGroup, QComboBox, QHBoxLayout, QRadioButton, QWidget

from ...domain.enums import Role
from ...stores.users import UsersStore
from ..widgets.forms import (
    Field,
    FormDialog,
    email_problem,
    line_edit,
    password_problem,
    username_problem,
)

ROLE_HELP = {
    Role.VIEWER: "Viewer — sees targets, stacks and deployments",
    Role.OPERATOR: "Operator — also deploys, starts and stops, scans targets",
    Role.ADMIN: "Admin — also manages targets, stacks and people",
    Role.OWNER: "Owner — also the organization's settings and deletion",
}


class InviteUserDialog(FormDialog):
    """Accepted once the account is created (the store applies the new row itself) or
    the invitation is sent (the invited user answers it in their own Settings)."""

    def __init__(self, users: UsersStore, parent: QWidget | None = None) -> None:
        super().__init__(
            users,
            title="Invite a member",
            heading="Invite a member",
            blurb="Create an account for a new person, or invite someone who already has "
                  "an account in this workspace: they join once they accept.",
            submit_text="Invite",
            busy_text="Inviting…",
            parent=parent,
        )
        self.users = users
        self.new_account = QRadioButton("&New account")
        self.new_account.setAccessibleName("New account")
        self.existing = QRadioButton("E&xisting account")
        self.existing.setAccessibleName("Existing account")
        self.new_account.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.new_account)
        group.addButton(self.existing)
        modes = QWidget()
        row = QHBoxLayout(modes)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.new_account)
        row.addWidget(self.existing)
        row.addStretch(1)
        self.form.addRow("Who:", modes)

        self.login = line_edit("Username or email of the existing account")
        self.username = line_edit("Username")
        self.email = line_edit("Email", placeholder="name@example.com")
        self.full_name = line_edit("Full name", placeholder="Optional")
        self.password = line_edit("First password", password=True)
        self.login_field = self.add_field("&Username or email:", self.login)
        self.username_field = self.add_field("&Username:", self.username)
        self.email_field = self.add_field("&Email:", self.email)
        self.full_name_field = self.add_field("&Full name:", self.full_name)
        self.password_field = self.add_field(
            "First &password:", self.password,
            hint="At least 8 characters; they can change it after signing in.",
        )
        self.role = QComboBox()
        self.role.setAccessibleName("Role")
        for role in users.grantable_roles():
            self.role.addItem(ROLE_HELP[role], role)
        self.role.setCurrentIndex(0)
        self.add_field("&Role:", self.role)
        self.new_account.toggled.connect(self._show_mode)
        self._show_mode()

    def _rows(self, fields: tuple[Field, ...], visible: bool) -> None:
        for field in fields:
            box = field.widget.parentWidget()
            if box is not None:
                self.form.setRowVisible(box, visible)
            if not visible:
                field.set_error(None)

    def _show_mode(self) -> None:
        new = self.new_account.isChecked()
        self._rows((self.username_field, self.email_field, self.full_name_field,
                    self.password_field), new)
        self._rows((self.login_field,), not new)
        (self.username if new else self.login).setFocus()
        self.adjustSize()

    @property
    def chosen_role(self) -> Role:
        return Role(self.role.currentData())  # Qt hands the StrEnum back as a str

    def validate_field(self, field: Field) -> bool:
        problem: str | None = None
        if field is self.login_field:
            problem = None if self.login.text().strip() else "enter their username or email"
        elif field is self.username_field:
            problem = username_problem(self.username.text())
        elif field is self.email_field:
            problem = email_problem(self.email.text())
        elif field is self.password_field:
            problem = password_problem(self.password.text())
        field.set_error(problem)
        return problem is None

    def validate(self) -> bool:
        if self.existing.isChecked():
            return self.validate_field(self.login_field)
        return all([self.validate_field(f) for f in
                    (self.username_field, self.email_field, self.password_field)])

    def start(self) -> asyncio.Task[Any]:
        task: asyncio.Task[Any]
        if self.existing.isChecked():
            task = self.users.add_member(self.login.text().strip(), self.chosen_role)
        else:
            task = self.users.create_user(
                username=self.username.text().strip(), email=self.email.text().strip(),
                password=self.password.text(), role=self.chosen_role,
                full_name=self.full_name.text().strip(),
            )
        return task

    def succeeded(self, result: Any) -> None:
        self.password.clear()
        self.accept()
