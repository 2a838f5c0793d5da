"""``AccountButton``: "user · organization" in the window, with a menu to switch the
organization (one entry per membership), change the password, and log out."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QToolButton, QWidget

from ...stores.session import SessionStore
from ...stores.users import UsersStore
from ..dialogs.change_password import ChangePasswordDialog
from .forms import follow
from .message_bar import MessageBar


class AccountButton(QToolButton):
    """Shows who is signed in and where. Hidden while nobody is signed in.

    Errors of the session actions it starts (switching, logging out) and the note after a
    password change go to ``message_bar`` when one is given. Logging out only asks the
    ``SessionStore``; whoever listens to ``sig_session_changed`` shows the sign-in again.
    """

    def __init__(
        self,
        session: SessionStore,
        users: UsersStore,
        *,
        message_bar: MessageBar | None = None,
        switch_place: Callable[[], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.users = users
        self.message_bar = message_bar
        self.password_dialog: ChangePasswordDialog | None = None
        self.setObjectName("accountButton")
        self.setAccessibleName("Account")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.setAutoRaise(True)
        self.setStyleSheet(
            "#accountButton { padding: 2px 10px; font-weight: 600; }"
            " #accountButton::menu-indicator { subcontrol-position: right center; }"
        )
        self.account_menu = QMenu(self)
        self.account_menu.setAccessibleName("Account menu")
        self.setMenu(self.account_menu)
        self.org_group = QActionGroup(self)
        self.org_group.setExclusive(True)
        self.org_actions: dict[uuid.UUID, QAction] = {}
        self.who_action = QAction(self)
        self.who_action.setEnabled(False)
        self.change_password_action = QAction("Change password…", self)
        self.change_password_action.triggered.connect(self.open_change_password)
        self.logout_action = QAction("Log out", self)
        self.logout_action.triggered.connect(self.log_out)
        self.switch_place_action: QAction | None = None
        if switch_place is not None:  # the app can work elsewhere (a page alone cannot)
            self.switch_place_action = QAction("Switch workspace or server…", self)
            self.switch_place_action.triggered.connect(switch_place)
        session.sig_session_changed.connect(self.refresh)
        session.sig_busy_changed.connect(lambda busy: self.setEnabled(not busy))
        users.sig_organizations_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        user, org, principal = self.session.user, self.session.organization, self.session.principal
        self.setVisible(user is not None)
        if user is None:
            self.setText("")
            return
        where = org.name if org is not None else "no organization"
        self.setText(f"{user.username} · {where}")
        role = principal.role.value if principal is not None and principal.role else "no role"
        self.setToolTip(f"Signed in as {user.full_name or user.username} ({user.email}); "
                        f"{role} in {where}")
        self.setAccessibleDescription(self.text())
        self._build_menu()

    def _build_menu(self) -> None:
        menu = self.account_menu
        menu.clear()
        for action in self.org_group.actions():
            self.org_group.removeAction(action)
            action.deleteLater()
        self.org_actions = {}
        user, principal = self.session.user, self.session.principal
        if user is None:
            return
        self.who_action.setText(f"Signed in as {user.full_name or user.username}")
        menu.addAction(self.who_action)
        menu.addSection("Organization")
        names = {o.id: o.name for o in self.users.organizations}
        current = principal.organization_id if principal is not None else None
        for membership in sorted(self.session.memberships,
                                 key=lambda m: names.get(m.organization_id, "").lower()):
            org_id = membership.organization_id
            name = names.get(org_id, "Organization " + str(org_id)[:8])
            action = QAction(f"{name}  ({membership.role.value})", self)
            action.setCheckable(True)
            action.setChecked(org_id == current)
            action.triggered.connect(lambda _c=False, oid=org_id: self.switch_to(oid))
            self.org_group.addAction(action)
            menu.addAction(action)
            self.org_actions[org_id] = action
        menu.addSeparator()
        menu.addAction(self.change_password_action)
        if self.switch_place_action is not None:
            menu.addAction(self.switch_place_action)
        menu.addAction(self.logout_action)

    def switch_to(self, organization_id: uuid.UUID) -> None:
        principal = self.session.principal
        if principal is None or principal.organization_id == organization_id:
            return
        self._follow(self.session.switch_org(organization_id))

    def open_change_password(self) -> None:
        self.password_dialog = ChangePasswordDialog(self.session, self.window())
        self.password_dialog.accepted.connect(self._password_changed)
        self.password_dialog.open()

    def _password_changed(self) -> None:
        if self.message_bar is not None:
            self.message_bar.show_success("your password was changed")

    def log_out(self) -> None:
        self._follow(self.session.logout())

    def _follow(self, task: asyncio.Task[Any]) -> None:
        bar = self.message_bar
        if bar is not None:
            bar.clear()
            follow(self.session, task, ok=lambda _r: None, failed=bar.show_error)
