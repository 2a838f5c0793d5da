"""People, organizations, invitations, activity, the dashboard and access tokens through
the remote classes against a real ``windflow serve``: what they answer is what the
server did, and its refusals are the domain's errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.server import PASSWORD, create_owner, running_server
from windflow_desktop.domain.activity import ActivityFilters
from windflow_desktop.domain.enums import Role
from windflow_desktop.domain.errors import NotFoundError, PermissionDeniedError, ValidationError
from windflow_desktop.domain.paging import PageRequest
from windflow_desktop.remote.activity import RemoteActivity, RemoteDashboard
from windflow_desktop.remote.client import ServerSession
from windflow_desktop.remote.people import RemoteOrganizations, RemoteUsers
from windflow_desktop.remote.tokens import RemoteAccessTokens

ANY = None  # the principal is not sent: the server acts for the token's caller


async def test_people_activity_dashboard_and_tokens_through_a_server(tmp_path: Path) -> None:
    create_owner(tmp_path)
    with running_server(tmp_path) as server:
        olga, vera = ServerSession(server.url), ServerSession(server.url)
        try:
            me = await olga.login("olga", PASSWORD)
            org_id = me["organization_id"]
            users, orgs = RemoteUsers(olga), RemoteOrganizations(olga)
            made = await users.create_user(ANY, username="vera", email="vera@example.test",  # type: ignore[arg-type]
                                           password=PASSWORD, full_name="Vera V")
            assert made.role is Role.VIEWER and made.user.password_hash == ""
            assert (await users.change_role(ANY, made.user.id, Role.OPERATOR)  # type: ignore[arg-type]
                    ).role is Role.OPERATOR
            assert not (await users.disable_user(ANY, made.user.id)).user.is_active  # type: ignore[arg-type]
            assert (await users.enable_user(ANY, made.user.id)).user.is_active  # type: ignore[arg-type]
            with pytest.raises(ValidationError) as bad:
                await users.create_user(ANY, username="xavier", email="x@example.test",  # type: ignore[arg-type]
                                        password="short")
            assert bad.value.field == "password"

            page = await orgs.list(ANY)  # type: ignore[arg-type]
            assert [o.name for o in page.items] == ["Acme"]
            acme = await orgs.get(ANY, page.items[0].id)  # type: ignore[arg-type]
            assert str(acme.id) == org_id
            members = await orgs.members(ANY, acme.id, PageRequest(limit=1))  # type: ignore[arg-type]
            assert len(members.items) == 1 and members.next_cursor is not None

            # vera starts her own organization; olga is invited into it and accepts.
            await vera.login("vera", PASSWORD)
            theirs = await vera.request("POST", "/organizations", json={"name": "Beta"})
            await vera.refresh(stale=None, organization_id=theirs["id"])
            await RemoteUsers(vera).add_member(ANY, "olga", Role.VIEWER)  # type: ignore[arg-type]
            pending = await orgs.invitations(ANY)  # type: ignore[arg-type]
            assert [(p.organization.name, p.role) for p in pending] == [("Beta", Role.VIEWER)]
            joined = await orgs.accept_invitation(ANY, pending[0].id)  # type: ignore[arg-type]
            assert str(joined.organization_id) == theirs["id"]
            with pytest.raises(NotFoundError):
                await orgs.decline_invitation(ANY, pending[0].id)  # type: ignore[arg-type]
            assert await orgs.invitations(ANY) == ()  # type: ignore[arg-type]

            activity = RemoteActivity(olga)
            roles = await activity.list(ANY, filters=ActivityFilters(  # type: ignore[arg-type]
                type_prefix="membership.role_changed"))
            assert [e.data["to"] for e in roles.items] == ["operator"]
            assert {a.name for a in await activity.actors(ANY)} == {"olga", "Vera V"}  # type: ignore[arg-type]
            summary = await RemoteDashboard(olga).summary(ANY)  # type: ignore[arg-type]
            assert str(summary.organization_id) == org_id and summary.activity

            await users.remove_member(ANY, made.user.id)  # type: ignore[arg-type]
            with pytest.raises(NotFoundError):
                await users.remove_member(ANY, made.user.id)  # type: ignore[arg-type]

            tokens = RemoteAccessTokens(olga)
            record, text = await tokens.create(ANY, "ci", 1, ["targets:read"])  # type: ignore[arg-type]
            assert text.startswith("wf_pat_") and record.token_hash == ""
            assert [t.id for t in await tokens.list(ANY)] == [record.id]  # type: ignore[arg-type]
            await tokens.revoke(ANY, record.id)  # type: ignore[arg-type]
            assert await tokens.list(ANY) == ()  # type: ignore[arg-type]

            # olga is a viewer in Beta: she may not manage people there.
            await olga.refresh(stale=None, organization_id=theirs["id"])
            with pytest.raises(PermissionDeniedError):
                await users.add_member(ANY, "vera", Role.VIEWER)  # type: ignore[arg-type]
        finally:
            await olga.close()
            await vera.close()
