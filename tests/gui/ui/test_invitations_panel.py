"""Settings, Invitations: the invited user sees the invitation after signing in and
accepts or declines it with a click; only an accepted one becomes a membership."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.support.auth import PASSWORD
from tests.support.qt import Workspace
from windflow_desktop.domain.enums import Role
from windflow_desktop.ui.views.invitations import InvitationsPanel

WAIT_MS = 15_000


def invite_bob(ws: Workspace, *org_names: str) -> None:
    """alice owns ``org_names`` and invites bob (who has his own account) into each."""
    svc = ws.services
    alice = ws.run(svc.auth.setup(username="alice", email="alice@example.test",
                                  password=PASSWORD, organization_name=org_names[0]))
    ws.run(svc.users.create_user(alice.principal, username="bob", email="bob@example.test",
                                 password=PASSWORD))
    ws.run(svc.users.remove_member(alice.principal, ws.run(svc.auth.login(
        "bob", PASSWORD)).user.id))
    ws.run(svc.users.add_member(alice.principal, "bob", Role.OPERATOR))
    for name in org_names[1:]:
        org = ws.run(svc.orgs.create(alice.principal, name))
        switched = ws.run(svc.auth.switch_organization(alice.tokens.refresh_token, org.id))
        ws.run(svc.users.add_member(switched.principal, "bob@example.test", Role.VIEWER))


def test_invited_user_accepts_and_declines_in_settings(
    qtbot: QtBot, workspace: Workspace
) -> None:
    invite_bob(workspace, "Acme", "Globex")
    panel = InvitationsPanel(workspace.users)
    qtbot.addWidget(panel)
    panel.show()
    assert not panel.rows and panel.empty.isVisible()
    workspace.run(workspace.session.login("bob", PASSWORD))
    qtbot.waitUntil(lambda: len(panel.rows) == 2, timeout=WAIT_MS)
    by_org = {row.invitation.organization.name: row for row in panel.rows.values()}
    assert "Acme" in by_org["Acme"].label.text() and "operator" in by_org["Acme"].label.text()
    bob = workspace.session.require_principal()
    assert workspace.run(workspace.services.orgs.list(bob)).items == ()

    qtbot.mouseClick(by_org["Acme"].accept_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(panel.rows) == 1 and panel.message_bar.level == "success",
                    timeout=WAIT_MS)
    assert [o.name for o in workspace.users.organizations] == ["Acme"]
    acme = workspace.users.organizations[0]

    async def role_in_acme() -> Role | None:
        async with workspace.services.backend.unit_of_work() as uow:
            found = await uow.memberships.get(bob.user_id, acme.id)
            return found.role if found else None

    assert workspace.run(role_in_acme()) is Role.OPERATOR

    (globex,) = panel.rows.values()
    qtbot.mouseClick(globex.decline_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.rows and panel.empty.isVisible(), timeout=WAIT_MS)
    assert [o.name for o in workspace.run(workspace.services.orgs.list(bob)).items] == ["Acme"]


def test_a_lapsed_invitation_leaves_the_list_when_answered(
    qtbot: QtBot, workspace: Workspace
) -> None:
    """Its sender lost the right to grant it while it was shown: Accept says so and the
    row goes (the list is read again), instead of staying there to fail again."""
    invite_bob(workspace, "Acme")
    panel = InvitationsPanel(workspace.users)
    qtbot.addWidget(panel)
    panel.show()
    workspace.run(workspace.session.login("bob", PASSWORD))
    qtbot.waitUntil(lambda: len(panel.rows) == 1, timeout=WAIT_MS)
    (row,) = panel.rows.values()

    async def demote_the_sender() -> None:
        async with workspace.services.backend.unit_of_work() as uow:
            alice = await uow.users.get_by_login("alice")
            assert alice is not None
            alice.is_superuser = False
            await uow.users.save(alice)
            held = await uow.memberships.get(alice.id, row.invitation.organization.id)
            assert held is not None
            held.role = Role.VIEWER
            await uow.memberships.save(held)
            await uow.commit()

    workspace.run(demote_the_sender())
    qtbot.mouseClick(row.accept_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.message_bar.level == "error", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not panel.rows and panel.empty.isVisible(), timeout=WAIT_MS)
    assert workspace.users.organizations == ()
