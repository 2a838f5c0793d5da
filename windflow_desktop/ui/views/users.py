"""Settings → Users & roles: the members of the current organization with role badges;
invite, change role, disable/enable and remove for those who hold ``users:manage``.

Everyone who may read members sees the list; the actions are hidden for the others and
disabled for members who outrank the viewer (the services enforce the same rules).
Destructive actions ask first, with a non-blocking message box (``open()``). Ctrl+F
focuses the filter, F5 reloads, Delete (in the table) asks before removing the member;
the table has a context menu and remembers its columns and sort order.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QSettings,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QBrush,
    QColor,
    QGuiApplication,
    QKeySequence,
    QPalette,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QTableView,
    QWidget,
)

from ...domain.enums import Role
from ...domain.identity import Member
from ...stores.users import UsersStore
from ..dialogs.invite_user import InviteUserDialog
from ..models.base import SORT_ROLE, Column, RowTableModel
from ..widgets.badge import BadgeDelegate
from ..widgets.layouts import vbox
from ..widgets.list_tools import (
    add_action,
    confirm,
    fit_columns,
    fit_placeholder,
    install_context_menu,
    install_page_shortcuts,
    remember_header,
    select_key,
    selected_row,
)
from ..widgets.message_bar import MessageBar

Index = QModelIndex | QPersistentModelIndex

# Badge colours per role: (background, text).
ROLE_COLORS = {
    Role.OWNER: ("#ede3f7", "#5b2a86"),
    Role.ADMIN: ("#dde9fb", "#1a4f9c"),
    Role.OPERATOR: ("#dcf2e6", "#17643a"),
    Role.VIEWER: ("#ececec", "#4a4a4a"),
}
EMAIL_COLUMN = 2
ROLE_COLUMN = 3
STATUS_COLUMN = 4
SETTINGS_HEADER = "users/header"


def _when(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value else "Never"


def _name(m: Member) -> str:
    return m.user.full_name or m.user.username


COLUMNS: list[Column[Member]] = [
    Column("Name", _name, lambda m: _name(m).lower()),
    Column("Username", lambda m: m.user.username, lambda m: m.user.username.lower()),
    Column("Email", lambda m: m.user.email),
    Column("Role", lambda m: m.role.value.capitalize(), lambda m: m.role.rank),
    Column("Status", lambda m: "Active" if m.user.is_active else "Disabled",
           lambda m: int(m.user.is_active)),
    Column("Last sign-in", lambda m: _when(m.user.last_login),
           lambda m: m.user.last_login.timestamp() if m.user.last_login else 0.0),
    Column("Member since", lambda m: m.joined_at.astimezone().strftime("%Y-%m-%d"),
           lambda m: m.joined_at.timestamp()),
]


class UsersModel(RowTableModel[Member]):
    """Members keyed by user id; disabled accounts read grey."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(COLUMNS, key=lambda m: m.user.id, parent=parent)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if index.isValid() and index.row() < self.rowCount():
            member = self.row(index.row())
            if role == Qt.ItemDataRole.ForegroundRole and not member.user.is_active:
                return QBrush(QColor("#8a8a8a"))
            if role == Qt.ItemDataRole.ToolTipRole and index.column() == STATUS_COLUMN:
                return ("Can sign in" if member.user.is_active
                        else "Cannot sign in until an admin enables the account")
        return super().data(index, role)


class RoleBadgeDelegate(BadgeDelegate):
    """Paints the role as a rounded badge in the role's own colours (faded when the
    account is disabled)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(lambda _member: "neutral", parent)

    def colors(self, row: Any, palette: QPalette) -> tuple[str, str]:
        if isinstance(row, Member):
            return ROLE_COLORS[row.role]
        return super().colors(row, palette)

    def faded(self, row: Any) -> bool:
        return isinstance(row, Member) and not row.user.is_active


class UsersPage(QWidget):
    """The Users & roles section. Build it once; it follows the session by itself."""

    def __init__(self, users: UsersStore, ui_settings: QSettings | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.users = users
        self.setAccessibleName("Users and roles")
        self.confirm_box: QMessageBox | None = None
        self.invite_dialog: InviteUserDialog | None = None

        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.read_only_note = QLabel(
            "You can see who is in this organization. Only admins and owners can invite "
            "people or change their roles."
        )
        self.read_only_note.setObjectName("readOnlyNote")
        self.read_only_note.setWordWrap(True)
        self.message_bar = MessageBar()
        self.message_bar.bind(users)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by name, email or role  (Ctrl+F)")
        fit_placeholder(self.search)
        self.search.setAccessibleName("Filter members")
        self.search.setClearButtonEnabled(True)
        self.search.setMaximumWidth(360)

        self.invite_button = QPushButton("Invite…")
        self.invite_button.setAccessibleName("Invite member")
        self.invite_button.setToolTip(
            "Create an account, or invite an existing one to this organization"
        )
        # A push button with a menu keeps its arrow beside the text (a tool button's
        # InstantPopup arrow was drawn over "Change role").
        self.role_button = QPushButton("Change role")
        self.role_button.setAccessibleName("Change role")
        self.role_menu = QMenu(self.role_button)
        self.role_menu.setAccessibleName("Roles")
        self.role_group = QActionGroup(self)
        self.role_group.setExclusive(True)
        self.role_actions: dict[Role, QAction] = {}
        for role in Role:
            action = QAction(role.value.capitalize(), self)
            action.setCheckable(True)
            action.setData(role)
            action.triggered.connect(lambda _c=False, r=role: self.change_role(r))
            self.role_group.addAction(action)
            self.role_menu.addAction(action)
            self.role_actions[role] = action
        self.role_button.setMenu(self.role_menu)
        self.active_button = QPushButton("Disable…")
        self.active_button.setAccessibleName("Disable account")
        self.remove_button = QPushButton("Remove…")
        self.remove_button.setAccessibleName("Remove from organization")
        self._action_widgets: tuple[QWidget, ...] = (
            self.invite_button, self.role_button, self.active_button, self.remove_button
        )

        self.model = UsersModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.table = QTableView()
        self.table.setAccessibleName("Members")
        self.table.setModel(self.proxy)
        self.table.setItemDelegateForColumn(ROLE_COLUMN, RoleBadgeDelegate(self.table))
        self.table.setItemDelegateForColumn(STATUS_COLUMN, BadgeDelegate(
            lambda m: "success" if m.user.is_active else "neutral", self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(30)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(EMAIL_COLUMN, QHeaderView.ResizeMode.Stretch)
        for column, width in enumerate((170, 110, 220, 100, 80, 130, 100)):
            if column != EMAIL_COLUMN:
                header.resizeSection(column, width)
        self.header_memory = remember_header(self.table, ui_settings, SETTINGS_HEADER)
        self.column_fit = fit_columns(self.table, memory=self.header_memory)
        self.empty_label = QLabel("No members to show.")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.hide()

        tools = QHBoxLayout()
        tools.addWidget(self.search)
        tools.addStretch(1)
        for widget in self._action_widgets:
            tools.addWidget(widget)
        vbox(self, self.intro, self.read_only_note, self.message_bar, tools, (self.table, 1),
             self.empty_label, margins=(16, 14, 16, 14), spacing=10)

        self.search.textChanged.connect(self.proxy.setFilterFixedString)
        self.invite_button.clicked.connect(self.open_invite)
        self.active_button.clicked.connect(self.toggle_active)
        self.remove_button.clicked.connect(self.confirm_remove)
        install_context_menu(self.table, self.build_context_menu)
        self.shortcuts = install_page_shortcuts(
            self, filter_edit=self.search, refresh=self.refresh, delete=self._delete_selected,
            list_view=self.table)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        users.sig_members_reset.connect(self._on_reset)
        users.sig_members_applied.connect(self._on_applied)
        users.sig_organizations_changed.connect(self._update_intro)
        users.sig_busy_changed.connect(self._on_busy)
        self._on_reset()

    # -- state → widgets -------------------------------------------------------------

    def selected(self) -> Member | None:
        return selected_row(self.table, Member)

    def select_user(self, user_id: uuid.UUID) -> None:
        select_key(self.table, self.proxy, self.model, user_id)

    def _on_reset(self) -> None:
        self.message_bar.clear()  # another session or organization: old news
        selected = self.selected()
        self.model.reset(self.users.members)
        if selected is not None:
            self.select_user(selected.user.id)
        self._update_intro()
        self._update_actions()

    def _on_applied(self, upserts: tuple[Member, ...], removals: tuple[uuid.UUID, ...]) -> None:
        self.model.apply(upserts, removals)
        self._update_actions()
        self.empty_label.setVisible(self.model.rowCount() == 0)

    def _on_busy(self, busy: bool) -> None:
        if busy:
            self.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.unsetCursor()

    def _update_intro(self) -> None:
        p = self.users.principal
        org = next((o for o in self.users.organizations
                    if p is not None and o.id == p.organization_id), None)
        where = f"<b>{org.name}</b>" if org else "this organization"
        count = self.model.rowCount()
        people = f"{count} member{'s' if count != 1 else ''}" if self.users.loaded else "Members"
        self.intro.setText(f"{people} of {where} and what each may do.")
        manage = self.users.can_manage
        self.read_only_note.setVisible(not manage and p is not None)
        for widget in self._action_widgets:
            widget.setVisible(manage)
        self.empty_label.setVisible(self.users.loaded and count == 0)

    def _update_actions(self) -> None:
        member = self.selected()
        changeable = member is not None and self.users.can_change(member)
        self.invite_button.setEnabled(self.users.can_manage)
        self.role_button.setEnabled(changeable)
        grantable = set(self.users.grantable_roles())
        for role, action in self.role_actions.items():
            action.setEnabled(role in grantable)
            action.setChecked(member is not None and member.role is role)
        is_self = member is not None and self.users.is_self(member)
        self.active_button.setEnabled(changeable and not is_self)
        active = member is None or member.user.is_active
        self.active_button.setText("Disable…" if active else "Enable")
        self.active_button.setAccessibleName("Disable account" if active else "Enable account")
        self.remove_button.setEnabled(changeable)
        tip = ""
        if member is not None and not changeable and self.users.can_manage:
            tip = f"{member.user.username} is {member.role.value}: above your role"
        elif is_self:
            tip = "You cannot disable your own account"
        self.active_button.setToolTip(tip)

    # -- actions ---------------------------------------------------------------------

    def open_invite(self) -> None:
        self.invite_dialog = InviteUserDialog(self.users, self)
        self.invite_dialog.accepted.connect(self._invited)
        self.invite_dialog.open()

    def _invited(self) -> None:
        dialog = self.invite_dialog
        if dialog is None:
            return
        if dialog.existing.isChecked():
            # The same words whether the account exists or not: nobody learns which do.
            self.message_bar.show_success(
                f"Invitation sent if {dialog.login.text().strip()} has an account here: "
                "they join once they accept it"
            )
            return
        name = dialog.username.text().strip()
        self.message_bar.show_success(f"{name} is now a member")
        for member in self.users.members:
            if name in (member.user.username, member.user.email):
                self.select_user(member.user.id)

    def change_role(self, role: Role) -> None:
        member = self.selected()
        if member is None or member.role is role:
            self._update_actions()
            return
        self.message_bar.clear()
        self.users.change_role(member.user.id, role)

    def toggle_active(self) -> None:
        member = self.selected()
        if member is None:
            return
        self.message_bar.clear()
        if not member.user.is_active:
            self.users.enable_user(member.user.id)
            return
        self._confirm(
            title="Disable account",
            text=f"Disable {member.user.username}?",
            detail=(f"{member.user.username} will not be able to sign in, and their open "
                    "sessions end now. You can enable the account again later."),
            button="Disable",
            then=lambda: self.users.disable_user(member.user.id),
        )

    def confirm_remove(self) -> None:
        member = self.selected()
        if member is None:
            return
        p = self.users.principal
        org = next((o.name for o in self.users.organizations
                    if p is not None and o.id == p.organization_id), "this organization")
        self.message_bar.clear()
        self._confirm(
            title="Remove member",
            text=f"Remove {member.user.username} from {org}?",
            detail=("They lose access to this organization's targets, stacks and "
                    "deployments. Their account stays and can be added again."),
            button="Remove",
            then=lambda: self.users.remove_member(member.user.id),
        )

    def _confirm(self, *, title: str, text: str, detail: str, button: str,
                 then: Any) -> None:
        box = confirm(self, title=title, text=text, detail=detail, button=button, then=then)
        box.finished.connect(lambda _r: setattr(self, "confirm_box", None)
                             if self.confirm_box is box else None)
        self.confirm_box = box

    def refresh(self) -> None:
        self.message_bar.clear()
        self.users.load()

    def _delete_selected(self) -> None:
        if self.remove_button.isVisible() and self.remove_button.isEnabled():
            self.confirm_remove()

    def build_context_menu(self) -> QMenu:
        """The selected member's actions (those this viewer may take), copy, refresh."""
        menu = QMenu(self)
        menu.setAccessibleName("Member actions")
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        member = self.selected()
        if member is not None:
            if self.users.can_manage:
                roles = menu.addMenu("Change role")
                roles.setEnabled(self.role_button.isEnabled())
                for action in self.role_actions.values():
                    roles.addAction(action)
                add_action(menu, self.active_button.text(), self.toggle_active,
                           enabled=self.active_button.isEnabled())
                add_action(menu, "Remove from organization…", self.confirm_remove,
                           enabled=self.remove_button.isEnabled(),
                           shortcut=QKeySequence.StandardKey.Delete)
                menu.addSeparator()
            email, username = member.user.email, member.user.username
            add_action(menu, "Copy email", lambda: _copy(email))
            add_action(menu, "Copy username", lambda: _copy(username))
            menu.addSeparator()
        if self.users.can_manage:
            add_action(menu, "Invite…", self.open_invite)
        add_action(menu, "Refresh", self.refresh, shortcut=QKeySequence(Qt.Key.Key_F5))
        return menu


def _copy(text: str) -> None:
    clipboard = QGuiApplication.clipboard()
    if clipboard is not None:
        clipboard.setText(text)
