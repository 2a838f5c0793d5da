"""Settings → Users & roles over the real services (SQLite): what an admin and a viewer
see, role changes, disable/enable and removal through the UI reaching the database, the
invite dialog, the model under qtmodeltester, and the account menu."""

from __future__ import annotations

import uuid

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from tests.support.auth import PASSWORD
from tests.support.qt import Workspace
from windflow_desktop.domain.enums import Role
from windflow_desktop.domain.errors import NotFoundError
from windflow_desktop.ui.views.settings import SettingsPage
from windflow_desktop.ui.views.users import ROLE_COLUMN, STATUS_COLUMN, UsersPage
from windflow_desktop.ui.widgets.account_menu import AccountButton
from windflow_desktop.ui.widgets.message_bar import MessageBar

WAIT_MS = 15_000


@pytest.fixture
def people(workspace: Workspace) -> dict[str, uuid.UUID]:
    """alice (owner, set up the workspace), dave (admin), carol (operator), bob (viewer)."""
    svc = workspace.services
    owner = workspace.run(svc.auth.setup(username="alice", email="alice@example.test",
                                         password=PASSWORD, organization_name="Acme",
                                         full_name="Alice Martin")).principal
    ids = {"alice": owner.user_id}
    for name, role in (("dave", Role.ADMIN), ("carol", Role.OPERATOR), ("bob", Role.VIEWER)):
        member = workspace.run(svc.users.create_user(
            owner, username=name, email=f"{name}@example.test", password=PASSWORD,
            role=role, full_name=f"{name.capitalize()} Example"))
        ids[name] = member.user.id
    return ids


def sign_in_and_open(qtbot: QtBot, ws: Workspace, login: str) -> UsersPage:
    page = UsersPage(ws.users)
    qtbot.addWidget(page)
    page.resize(1000, 500)
    page.show()
    ws.run(ws.session.login(login, PASSWORD))
    qtbot.waitUntil(lambda: ws.users.loaded and not ws.users.busy, timeout=WAIT_MS)
    return page


def select(qtbot: QtBot, page: UsersPage, user_id: uuid.UUID) -> None:
    page.select_user(user_id)
    member = page.selected()
    assert member is not None and member.user.id == user_id


def cell(page: UsersPage, user_id: uuid.UUID, column: int) -> str:
    position = page.model.position(user_id)
    assert position is not None
    return str(page.model.index(position, column).data())


def db_member(ws: Workspace, user_id: uuid.UUID):  # type: ignore[no-untyped-def]
    owner = ws.run(ws.services.auth.login("alice", PASSWORD)).principal
    return ws.run(ws.services.users.get_user(owner, user_id))


def test_admin_sees_members_and_actions(
    qtbot: QtBot, workspace: Workspace, people: dict[str, uuid.UUID]
) -> None:
    page = sign_in_and_open(qtbot, workspace, "dave")
    assert page.model.rowCount() == 4
    assert {page.model.row(i).user.username for i in range(4)} == set(people)
    assert cell(page, people["alice"], ROLE_COLUMN) == "Owner"
    assert "<b>Acme</b>" in page.intro.text() and "4 members" in page.intro.text()
    assert page.invite_button.isVisible() and page.role_button.isVisible()
    assert not page.read_only_note.isVisible()
    # An admin may not grant owner, nor touch the owner, nor disable themselves.
    assert not page.role_actions[Role.OWNER].isEnabled()
    select(qtbot, page, people["alice"])
    assert not page.role_button.isEnabled() and not page.remove_button.isEnabled()
    select(qtbot, page, people["dave"])
    assert page.role_button.isEnabled() and not page.active_button.isEnabled()
    select(qtbot, page, people["bob"])
    assert page.role_button.isEnabled() and page.active_button.isEnabled()
    assert page.role_actions[Role.VIEWER].isChecked()
    for widget in (page.invite_button, page.role_button, page.active_button,
                   page.remove_button, page.search, page.table):
        assert widget.accessibleName()


def test_viewer_sees_the_list_read_only(
    qtbot: QtBot, workspace: Workspace, people: dict[str, uuid.UUID]
) -> None:
    page = sign_in_and_open(qtbot, workspace, "bob")
    assert page.model.rowCount() == 4
    assert page.read_only_note.isVisible()
    for widget in (page.invite_button, page.role_button, page.active_button,
                   page.remove_button):
        assert not widget.isVisible()


def test_change_role_through_the_menu_reaches_the_database(
    qtbot: QtBot, workspace: Workspace, people: dict[str, uuid.UUID]
) -> None:
    page = sign_in_and_open(qtbot, workspace, "dave")
    select(qtbot, page, people["bob"])
    changes: list[int] = []
    page.model.dataChanged.connect(lambda tl, br, _r=(): changes.append(tl.row()))
    resets: list[int] = []
    page.model.modelReset.connect(lambda: resets.append(1))
    page.role_actions[Role.OPERATOR].trigger()
    qtbot.waitUntil(lambda: cell(page, people["bob"], ROLE_COLUMN) == "Operator",
                    timeout=WAIT_MS)
    assert changes == [page.model.position(people["bob"])] and resets == []
    assert db_member(workspace, people["bob"]).role is Role.OPERATOR
    assert page.role_actions[Role.OPERATOR].isChecked()  # selection kept, menu follows


def test_disable_asks_first_then_disables_and_enables(
    qtbot: QtBot, workspace: Workspace, people: dict[str, uuid.UUID]
) -> None:
    page = sign_in_and_open(qtbot, workspace, "dave")
    select(qtbot, page, people["carol"])
    qtbot.mouseClick(page.active_button, Qt.MouseButton.LeftButton)
    box = page.confirm_box
    assert box is not None and box.isVisible() and box.text() == "Disable carol?"
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert db_member(workspace, people["carol"]).user.is_active

    qtbot.mouseClick(page.active_button, Qt.MouseButton.LeftButton)
    box = page.confirm_box
    assert box is not None
    next(b for b in box.buttons() if b.text() == "Disable").click()
    qtbot.waitUntil(lambda: cell(page, people["carol"], STATUS_COLUMN) == "Disabled",
                    timeout=WAIT_MS)
    assert not db_member(workspace, people["carol"]).user.is_active
    assert page.active_button.text() == "Enable"

    qtbot.mouseClick(page.active_button, Qt.MouseButton.LeftButton)  # no question to enable
    qtbot.waitUntil(lambda: cell(page, people["carol"], STATUS_COLUMN) == "Active",
                    timeout=WAIT_MS)
    assert db_member(workspace, people["carol"]).user.is_active


def test_remove_asks_first_then_the_row_goes(
    qtbot: QtBot, workspace: Workspace, people: dict[str, uuid.UUID]
) -> None:
    page = sign_in_and_open(qtbot, workspace, "dave")
    select(qtbot, page, people["bob"])
    qtbot.mouseClick(page.remove_button, Qt.MouseButton.LeftButton)
    box = page.confirm_box
    assert box is not None and box.text() == "Remove bob from Acme?"
    next(b for b in box.buttons() if b.text() == "Remove").click()
    qtbot.waitUntil(lambda: page.model.position(people["bob"]) is None, timeout=WAIT_MS)
    assert page.model.rowCount() == 3
    members = workspace.run(workspace.services.users.list_users(
        workspace.run(workspace.services.auth.login("alice", PASSWORD)).principal))
    assert people["bob"] not in {m.user.id for m in members.items}


def test_a_refused_change_shows_in_the_page(
    qtbot: QtBot, workspace: Workspace, people: dict[str, uuid.UUID]
) -> None:
    page = sign_in_and_open(qtbot, workspace, "dave")
    select(qtbot, page, people["bob"])
    # Someone else removed bob meanwhile: the service says so, the page shows it.
    owner = workspace.run(workspace.services.auth.login("alice", PASSWORD)).principal
    workspace.run(workspace.services.users.remove_member(owner, people["bob"]))
    page.role_actions[Role.ADMIN].trigger()
    qtbot.waitUntil(lambda: page.message_bar.shown, timeout=WAIT_MS)
    assert page.message_bar.code == "NOT_FOUND"
    assert cell(page, people["bob"], ROLE_COLUMN) == "Viewer"


def test_invite_a_new_account_and_an_existing_one(
    qtbot: QtBot, workspace: Workspace, people: dict[str, uuid.UUID]
) -> None:
    page = sign_in_and_open(qtbot, workspace, "dave")
    qtbot.mouseClick(page.invite_button, Qt.MouseButton.LeftButton)
    dialog = page.invite_dialog
    assert dialog is not None and dialog.isVisible()
    assert [dialog.role.itemData(i) for i in range(dialog.role.count())] == [
        Role.VIEWER, Role.OPERATOR, Role.ADMIN]  # not above the admin's own role
    qtbot.keyClicks(dialog.username, "erin")
    qtbot.keyClicks(dialog.email, "erin@example.test")
    qtbot.keyClicks(dialog.password, "short")
    dialog.role.setCurrentIndex(1)
    qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)
    assert dialog.password_field.has_error and not dialog.busy
    dialog.password.clear()
    qtbot.keyClicks(dialog.password, "erin's first password")
    with qtbot.waitSignal(dialog.accepted, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)
    assert page.model.rowCount() == 5
    selected = page.selected()
    assert selected is not None and selected.user.username == "erin"
    assert selected.role is Role.OPERATOR
    assert page.message_bar.level == "success"

    # An account that exists already (carol, taken out of Acme meanwhile, by email) is
    # invited, not added; a login nobody has gets the very same answer.
    owner = workspace.run(workspace.services.auth.login("alice", PASSWORD)).principal
    workspace.run(workspace.services.users.remove_member(owner, people["carol"]))
    answers = []
    for login in ("nobody@example.test", "carol@example.test"):
        qtbot.mouseClick(page.invite_button, Qt.MouseButton.LeftButton)
        dialog = page.invite_dialog
        assert dialog is not None
        dialog.existing.setChecked(True)
        assert not dialog.username.isVisible() and dialog.login.isVisible()
        qtbot.keyClicks(dialog.login, login)
        with qtbot.waitSignal(dialog.accepted, timeout=WAIT_MS):
            qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)
        answers.append(page.message_bar.text().replace(login, "<login>"))
    assert answers[0] == answers[1] and "once they accept" in answers[0]
    with pytest.raises(NotFoundError):  # not a member until carol accepts
        db_member(workspace, people["carol"])
    carol = workspace.run(workspace.services.auth.login("carol", PASSWORD)).principal
    (invitation,) = workspace.run(workspace.services.orgs.invitations(carol))
    assert invitation.organization.name == "Acme" and invitation.role is Role.VIEWER


def test_users_model_passes_the_model_tester(
    qtbot: QtBot, qtmodeltester: ModelTester, workspace: Workspace,
    people: dict[str, uuid.UUID],
) -> None:
    page = sign_in_and_open(qtbot, workspace, "alice")
    qtmodeltester.check(page.model, force_py=True)
    qtmodeltester.check(page.proxy, force_py=True)
    select(qtbot, page, people["carol"])
    page.role_actions[Role.ADMIN].trigger()
    qtbot.waitUntil(lambda: cell(page, people["carol"], ROLE_COLUMN) == "Admin",
                    timeout=WAIT_MS)
    qtmodeltester.check(page.model, force_py=True)


def test_settings_page_puts_users_first(qtbot: QtBot, workspace: Workspace) -> None:
    settings = SettingsPage()
    qtbot.addWidget(settings)
    users = UsersPage(workspace.users)
    settings.add_section("Users & roles", users)
    settings.add_section("Notifications", MessageBar())
    assert settings.sections() == ["Users & roles", "Notifications"]
    assert settings.section("Users & roles") is users
    settings.show_section("Notifications")
    assert settings.current_section() == "Notifications"


def test_account_menu_switches_organization_and_logs_out(
    qtbot: QtBot, workspace: Workspace, people: dict[str, uuid.UUID]
) -> None:
    svc = workspace.services
    owner = workspace.run(svc.auth.login("alice", PASSWORD)).principal
    svc.clock.advance(seconds=1)  # Acme stays the first membership, where sign-in lands
    second = workspace.run(svc.orgs.create(owner, "Zeta Labs"))
    bar = MessageBar()
    button = AccountButton(workspace.session, workspace.users, message_bar=bar)
    page = UsersPage(workspace.users)
    for widget in (bar, button, page):
        qtbot.addWidget(widget)
    assert button.isHidden()
    workspace.run(workspace.session.login("alice", PASSWORD))
    qtbot.waitUntil(lambda: len(button.org_actions) == 2 and workspace.users.loaded,
                    timeout=WAIT_MS)
    assert button.text() == "alice · Acme" and not button.isHidden()
    labels = [a.text() for a in button.account_menu.actions() if a.text()]
    assert labels == ["Signed in as Alice Martin", "Organization", "Acme  (owner)",
                      "Zeta Labs  (owner)", "Change password…", "Log out"]
    assert button.org_actions[owner.organization_id].isChecked()  # type: ignore[index]

    button.org_actions[second.id].trigger()
    qtbot.waitUntil(lambda: button.text() == "alice · Zeta Labs", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: page.model.rowCount() == 1 and not workspace.users.busy,
                    timeout=WAIT_MS)  # the members of Zeta Labs: alice alone
    assert button.org_actions[second.id].isChecked()

    button.change_password_action.trigger()
    assert button.password_dialog is not None and button.password_dialog.isVisible()
    button.password_dialog.reject()

    button.logout_action.trigger()
    qtbot.waitUntil(lambda: not workspace.session.busy, timeout=WAIT_MS)
    assert not workspace.session.signed_in
    assert button.isHidden() and page.model.rowCount() == 0 and not bar.shown


def test_every_actionable_widget_has_an_accessible_name(
    qtbot: QtBot, workspace: Workspace, people: dict[str, uuid.UUID]
) -> None:
    from PySide6.QtWidgets import (
        QAbstractButton,
        QComboBox,
        QLineEdit,
        QTableView,
        QWidget,
    )

    from windflow_desktop.ui.dialogs.change_password import ChangePasswordDialog
    from windflow_desktop.ui.dialogs.first_run import FirstRunDialog
    from windflow_desktop.ui.dialogs.login import LoginDialog

    page = sign_in_and_open(qtbot, workspace, "alice")
    page.open_invite()
    select(qtbot, page, people["bob"])
    page.confirm_remove()
    bar = MessageBar()
    bar.show_warning("note", actions=(("Retry", lambda: None),))
    roots: list[QWidget] = [
        page, bar, AccountButton(workspace.session, workspace.users),
        FirstRunDialog(workspace.session), LoginDialog(workspace.session),
        ChangePasswordDialog(workspace.session),
    ]
    assert page.invite_dialog is not None and page.confirm_box is not None
    roots += [page.invite_dialog, page.confirm_box]
    unnamed, checked = [], 0
    for root in roots:
        qtbot.addWidget(root)
        for widget in [root, *root.findChildren(QWidget)]:
            if not isinstance(widget, QAbstractButton | QLineEdit | QComboBox | QTableView):
                continue
            parent = widget.parentWidget()
            if widget.objectName().startswith("qt_") or isinstance(
                parent, QLineEdit | QTableView | QComboBox
            ):
                continue  # parts Qt builds inside its own widgets
            checked += 1
            if not widget.accessibleName():
                unnamed.append(f"{type(root).__name__}: {type(widget).__name__} "
                               f"{getattr(widget, 'text', lambda: '')()!r}")
    assert unnamed == [] and checked > 30
    page.confirm_box.reject()


def test_a_change_from_another_window_reaches_the_users_store(
    qtbot: QtBot, workspace: Workspace, people: dict[str, uuid.UUID]
) -> None:
    """Events from the bus (another window's change) make the store reload once."""
    from windflow_desktop.domain.events import Event

    users = workspace.users
    sign_in_and_open(qtbot, workspace, "dave")
    before = len(users.members)
    owner = workspace.run(workspace.services.auth.login("alice", PASSWORD)).principal
    workspace.run(workspace.services.users.create_user(
        owner, username="zoe", email="zoe@example.test", password=PASSWORD, role=Role.VIEWER))
    assert len(users.members) == before  # nothing told this window yet
    org = str(owner.organization_id)
    users.apply_events([Event("user.logged_in", "user", "x", organization_id=org)])
    assert not users.busy  # a login is not a change of people
    users.apply_events([Event("user.created", "user", "x", organization_id=org)])
    qtbot.waitUntil(lambda: len(users.members) == before + 1, timeout=WAIT_MS)
