"""The organization's people and the user's organizations, from a WindFlow server:
``RemoteUsers`` (``UsersApi``) and ``RemoteOrganizations`` (``OrganizationsApi``). The
``principal`` each method takes is the signed-in user the session's token stands for;
it is not sent — the server acts for the token's caller and checks its rights itself."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from ..domain.enums import Role
from ..domain.identity import Member, PendingInvitation, Principal
from ..domain.models import Membership, Organization
from ..domain.paging import Page, PageRequest
from .client import ServerSession
from .decode import decode
from .paging import query


class RemoteUsers:
    """``UsersApi`` over ``/users``: create, invite an existing user, change a role,
    disable, enable, remove from the organization."""

    def __init__(self, session: ServerSession) -> None:
        self._session = session

    async def create_user(self, principal: Principal, *, username: str, email: str,
                          password: str, role: Role = Role.VIEWER,
                          full_name: str = "") -> Member:
        data = await self._session.request("POST", "/users", json={
            "username": username, "email": email, "password": password, "role": role.value,
            "full_name": full_name})
        return decode(Member, data)

    async def add_member(self, principal: Principal, login: str, role: Role) -> None:
        await self._session.request("POST", "/users/invitations",
                                    json={"login": login, "role": role.value})

    async def change_role(self, principal: Principal, user_id: uuid.UUID,
                          role: Role) -> Member:
        data = await self._session.request("PUT", f"/users/{user_id}/role",
                                           json={"role": role.value})
        return decode(Member, data)

    async def disable_user(self, principal: Principal, user_id: uuid.UUID) -> Member:
        return decode(Member, await self._session.request("POST",
                                                          f"/users/{user_id}/disable"))

    async def enable_user(self, principal: Principal, user_id: uuid.UUID) -> Member:
        return decode(Member, await self._session.request("POST",
                                                          f"/users/{user_id}/enable"))

    async def remove_member(self, principal: Principal, user_id: uuid.UUID) -> None:
        await self._session.request("DELETE", f"/users/{user_id}")


class RemoteOrganizations:
    """``OrganizationsApi`` over ``/organizations`` and the caller's ``/invitations``."""

    def __init__(self, session: ServerSession) -> None:
        self._session = session

    async def list(self, principal: Principal,
                   page: PageRequest | None = None) -> Page[Organization]:
        data = await self._session.request("GET", "/organizations",
                                           params=query(page or PageRequest()))
        return decode(Page[Organization], data)

    async def get(self, principal: Principal, organization_id: uuid.UUID) -> Organization:
        return decode(Organization, await self._session.request(
            "GET", f"/organizations/{organization_id}"))

    async def members(self, principal: Principal, organization_id: uuid.UUID,
                      page: PageRequest | None = None) -> Page[Member]:
        data = await self._session.request("GET", f"/organizations/{organization_id}/members",
                                           params=query(page or PageRequest()))
        return decode(Page[Member], data)

    async def invitations(self, principal: Principal) -> tuple[PendingInvitation, ...]:
        return decode(tuple[PendingInvitation, ...],
                      await self._session.request("GET", "/invitations"))

    async def accept_invitation(self, principal: Principal,
                                invitation_id: uuid.UUID) -> Membership:
        return decode(Membership, await self._session.request(
            "POST", f"/invitations/{invitation_id}/accept"))

    async def decline_invitation(self, principal: Principal,
                                 invitation_id: uuid.UUID) -> None:
        await self._session.request("POST", f"/invitations/{invitation_id}/decline")


if TYPE_CHECKING:
    from ..services.protocols import OrganizationsApi, UsersApi

    _users: type[UsersApi] = RemoteUsers
    _organizations: type[OrganizationsApi] = RemoteOrganizations
