"""Joining an organization takes the invited user's consent: an admin's ``add_member``
leaves a pending invitation that only the invited user can accept (then a membership) or
decline; and the answers never tell which usernames or emails exist."""

from __future__ import annotations

import pytest

from tests.support.auth import PASSWORD, add_member, add_org, build_services
from windflow_desktop.domain.enums import Role
from windflow_desktop.domain.errors import ConflictError, NotFoundError, PermissionDeniedError
from windflow_desktop.repositories.sql.backend import SqlBackend


async def _member_of(backend: SqlBackend, user_id: object, org_id: object) -> Role | None:
    async with backend.unit_of_work() as uow:
        found = await uow.memberships.get(user_id, org_id)  # type: ignore[arg-type]
        return found.role if found else None


async def test_invitation_needs_the_invited_users_consent(backend: SqlBackend) -> None:
    svc = build_services(backend)
    acme, globex = await add_org(backend, "Acme"), await add_org(backend, "Globex")
    admin = await add_member(backend, acme.id, "ada", Role.ADMIN)
    bob = await add_member(backend, globex.id, "bob", Role.VIEWER)

    assert await svc.users.add_member(admin, "bob", Role.OPERATOR) is None
    assert await _member_of(backend, bob.user_id, acme.id) is None  # not without consent
    pending = await svc.orgs.invitations(bob)
    assert [(i.organization.name, i.role) for i in pending] == [("Acme", Role.OPERATOR)]
    with pytest.raises(NotFoundError):  # nobody else can accept it
        await svc.orgs.accept_invitation(admin, pending[0].id)
    membership = await svc.orgs.accept_invitation(bob, pending[0].id)
    assert membership.role is Role.OPERATOR
    assert await _member_of(backend, bob.user_id, acme.id) is Role.OPERATOR
    assert await svc.orgs.invitations(bob) == ()
    with pytest.raises(NotFoundError):  # accepted once
        await svc.orgs.accept_invitation(bob, pending[0].id)
    assert "membership.added" in svc.bus.types()


async def test_declined_invitation_leaves_no_membership(backend: SqlBackend) -> None:
    svc = build_services(backend)
    acme, globex = await add_org(backend, "Acme"), await add_org(backend, "Globex")
    admin = await add_member(backend, acme.id, "ada", Role.ADMIN)
    bob = await add_member(backend, globex.id, "bob", Role.VIEWER)
    await svc.users.add_member(admin, "bob@example.test", Role.VIEWER)
    (invitation,) = await svc.orgs.invitations(bob)
    await svc.orgs.decline_invitation(bob, invitation.id)
    assert await svc.orgs.invitations(bob) == ()
    assert await _member_of(backend, bob.user_id, acme.id) is None
    with pytest.raises(NotFoundError):
        await svc.orgs.accept_invitation(bob, invitation.id)


async def test_answers_do_not_reveal_which_accounts_exist(backend: SqlBackend) -> None:
    svc = build_services(backend)
    acme, globex = await add_org(backend, "Acme"), await add_org(backend, "Globex")
    admin = await add_member(backend, acme.id, "ada", Role.ADMIN)
    await add_member(backend, globex.id, "bob", Role.VIEWER)
    await add_member(backend, acme.id, "carl", Role.VIEWER)
    # An unknown login, an existing account, a member already, an invitation again: the
    # same silent answer, and the same audit shape.
    for login in ("nobody", "bob", "carl", "bob"):
        assert await svc.users.add_member(admin, login, Role.VIEWER) is None
    invited = [e for e in svc.bus.events if e.event_type == "invitation.sent"]
    assert len(invited) == 4 and len({tuple(sorted(e.data)) for e in invited}) == 1
    assert all("bob" not in str(e.data) and "carl" not in str(e.data) for e in invited)
    # Creating an account: one message whether the username or the email is taken.
    with pytest.raises(ConflictError) as by_name:
        await svc.users.create_user(admin, username="bob", email="new@x.test",
                                    password=PASSWORD)
    with pytest.raises(ConflictError) as by_mail:
        await svc.users.create_user(admin, username="newbie", email="bob@example.test",
                                    password=PASSWORD)
    assert by_name.value.message == by_mail.value.message
    assert "bob" not in by_name.value.message


async def test_only_managers_invite_and_not_above_their_role(backend: SqlBackend) -> None:
    svc = build_services(backend)
    acme, globex = await add_org(backend, "Acme"), await add_org(backend, "Globex")
    admin = await add_member(backend, acme.id, "ada", Role.ADMIN)
    viewer = await add_member(backend, acme.id, "vic", Role.VIEWER)
    await add_member(backend, globex.id, "bob", Role.VIEWER)
    with pytest.raises(PermissionDeniedError):
        await svc.users.add_member(viewer, "bob", Role.VIEWER)
    with pytest.raises(PermissionDeniedError):
        await svc.users.add_member(admin, "bob", Role.OWNER)


async def test_invitation_lapses_when_its_sender_can_no_longer_grant_it(
    backend: SqlBackend,
) -> None:
    """An invitation grants what its sender could grant when it is accepted: an admin
    removed (or demoted) before the answer leaves nothing behind for a second account
    of theirs to come back with."""
    svc = build_services(backend)
    acme, globex = await add_org(backend, "Acme"), await add_org(backend, "Globex")
    owner = await add_member(backend, acme.id, "olga", Role.OWNER)
    admin = await add_member(backend, acme.id, "ada", Role.ADMIN)
    bob = await add_member(backend, globex.id, "bob", Role.VIEWER)
    carl = await add_member(backend, globex.id, "carl", Role.VIEWER)
    await svc.users.add_member(admin, "bob", Role.ADMIN)
    await svc.users.add_member(admin, "carl", Role.ADMIN)
    ((to_bob,), (to_carl,)) = await svc.orgs.invitations(bob), await svc.orgs.invitations(carl)
    await svc.users.change_role(owner, admin.user_id, Role.OPERATOR)  # demoted
    assert await svc.orgs.invitations(carl) == ()  # not offered any more
    with pytest.raises(NotFoundError):
        await svc.orgs.accept_invitation(carl, to_carl.id)
    assert await _member_of(backend, carl.user_id, acme.id) is None
    assert "invitation.lapsed" in svc.bus.types()
    await svc.users.remove_member(owner, admin.user_id)  # removed
    with pytest.raises(NotFoundError):
        await svc.orgs.accept_invitation(bob, to_bob.id)
    assert await _member_of(backend, bob.user_id, acme.id) is None
