"""``UserService``: the people of the principal's organization — list, get, create,
invite an existing user, change role, disable/enable, remove.

Rank rules on top of ``users:manage``: nobody grants a role above their own, nobody
changes or removes a member who outranks them, nobody disables themselves, and an
organization always keeps at least one active owner.
"""

from __future__ import annotations

import asyncio
import uuid

from ..domain.enums import Role
from ..domain.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from ..domain.identity import Invitation, Member, Principal, check_password_policy
from ..domain.models import Membership, User
from ..domain.paging import Page, PageRequest
from ..domain.permissions import USERS_MANAGE, USERS_READ, permissions_of
from ..repositories.protocols import UnitOfWork
from ..security.passwords import PasswordHasher
from .common import Scope, ServiceContext, clean_email, clean_username, public_user

# One answer whichever of the username or the email is taken (and never which account).
TAKEN = "this username or email cannot be used: choose another"


class UserService:
    """Public API (all async, all take the acting principal first):

    ``list_users(p, page=PageRequest(), organization_id=None) -> Page[Member]``,
    ``get_user(p, user_id, organization_id=None) -> Member``,
    ``create_user(p, username=, email=, password=, role=, full_name="") -> Member``,
    ``add_member(p, login, role) -> None`` (an invitation the user accepts),
    ``change_role(p, user_id, role) -> Member``,
    ``disable_user(p, user_id) -> Member``, ``enable_user(p, user_id) -> Member``,
    ``remove_member(p, user_id) -> None``.
    """

    def __init__(self, context: ServiceContext, hasher: PasswordHasher | None = None) -> None:
        self.ctx = context
        self.hasher = hasher or PasswordHasher()

    async def list_users(
        self,
        principal: Principal,
        page: PageRequest | None = None,
        *,
        organization_id: uuid.UUID | None = None,
    ) -> Page[Member]:
        async with self.ctx.authorized(principal, USERS_READ, organization_id) as scope:
            assert scope.organization_id is not None
            return await list_members(scope.uow, scope.organization_id, page or PageRequest())

    async def get_user(
        self, principal: Principal, user_id: uuid.UUID, *, organization_id: uuid.UUID | None = None
    ) -> Member:
        async with self.ctx.authorized(principal, USERS_READ, organization_id) as scope:
            return await self._member(scope, user_id)

    async def create_user(
        self,
        principal: Principal,
        *,
        username: str,
        email: str,
        password: str,
        role: Role = Role.VIEWER,
        full_name: str = "",
    ) -> Member:
        """A new account, member of the principal's organization with ``role``."""
        username, email = clean_username(username), clean_email(email)
        check_password_policy(password)
        _check_grant(principal, role)
        async with self.ctx.authorized(principal, USERS_MANAGE) as scope:
            _check_grant(principal, role, await _actor_role(scope))
            uow, org_id = scope.uow, scope.org
            for login in (username, email):
                if await uow.users.get_by_login(login) is not None:
                    raise ConflictError(TAKEN)
            password_hash = await asyncio.to_thread(self.hasher.hash, password)
            now = self.ctx.clock()
            user = await uow.users.add(
                User(username=username, email=email, full_name=full_name.strip(),
                     password_hash=password_hash, created_at=now)
            )
            membership = await uow.memberships.save(Membership(user.id, org_id, role, now))
            scope.record("user.created", "user", user.id,
                         {"username": username, "role": role.value})
            return _as_member(user, membership)

    async def add_member(self, principal: Principal, login: str, role: Role) -> None:
        """Invite an existing user (by username or email) into the principal's organization
        with ``role``: a pending invitation that becomes a membership only when they accept
        it (``OrganizationService.accept_invitation``). The answer is the same whether the
        login exists, is a member already or was invited before, so it tells nobody which
        accounts exist; the audit row has the same shape in every case."""
        _check_grant(principal, role)
        async with self.ctx.authorized(principal, USERS_MANAGE) as scope:
            _check_grant(principal, role, await _actor_role(scope))
            uow, org_id = scope.uow, scope.org
            user = await uow.users.get_by_login(login.strip())
            invitation_id = uuid.uuid4()
            if (
                user is not None
                and user.is_active
                and await uow.memberships.get(user.id, org_id) is None
                and await uow.invitations.find(org_id, user.id) is None
            ):
                invitation = await uow.invitations.add(Invitation(
                    organization_id=org_id, user_id=user.id, role=role,
                    invited_by=principal.user_id, created_at=self.ctx.clock(),
                ))
                invitation_id = invitation.id
            scope.record("invitation.sent", "invitation", invitation_id, {"role": role.value})

    async def change_role(self, principal: Principal, user_id: uuid.UUID, role: Role) -> Member:
        _check_grant(principal, role)
        async with self.ctx.authorized(principal, USERS_MANAGE) as scope:
            actor_role = await _actor_role(scope)
            _check_grant(principal, role, actor_role)
            user, membership = await self._managed(scope, user_id, actor_role)
            old = membership.role
            if old is Role.OWNER and role is not Role.OWNER:
                await _keep_an_owner(scope.uow, scope.org, user_id)
            membership.role = role
            membership = await scope.uow.memberships.save(membership)
            scope.record("membership.role_changed", "user", user.id,
                         {"username": user.username, "from": old.value, "to": role.value})
            return _as_member(user, membership)

    async def disable_user(self, principal: Principal, user_id: uuid.UUID) -> Member:
        """Disable the account (it can no longer sign in; its sessions end)."""
        if user_id == principal.user_id:
            raise ValidationError("you cannot disable your own account", field="user_id")
        async with self.ctx.authorized(principal, USERS_MANAGE) as scope:
            user, membership = await self._managed(scope, user_id, await _actor_role(scope))
            await _check_whole_account(scope, principal, user)
            if membership.role is Role.OWNER:
                await _keep_an_owner(scope.uow, scope.org, user_id)
            user.is_active = False
            user = await scope.uow.users.save(user)
            await scope.uow.refresh_tokens.revoke_user(user.id, self.ctx.clock())
            scope.record("user.disabled", "user", user.id, {"username": user.username})
            return _as_member(user, membership)

    async def enable_user(self, principal: Principal, user_id: uuid.UUID) -> Member:
        async with self.ctx.authorized(principal, USERS_MANAGE) as scope:
            user, membership = await self._managed(scope, user_id, await _actor_role(scope))
            await _check_whole_account(scope, principal, user)
            user.is_active = True
            user = await scope.uow.users.save(user)
            scope.record("user.enabled", "user", user.id, {"username": user.username})
            return _as_member(user, membership)

    async def remove_member(self, principal: Principal, user_id: uuid.UUID) -> None:
        """Take the user out of the principal's organization (the account stays)."""
        async with self.ctx.authorized(principal, USERS_MANAGE) as scope:
            user, membership = await self._managed(scope, user_id, await _actor_role(scope))
            if membership.role is Role.OWNER:
                await _keep_an_owner(scope.uow, scope.org, user_id)
            await scope.uow.memberships.delete(user_id, scope.org)
            scope.record("membership.removed", "user", user.id, {"username": user.username})

    # -- helpers ---------------------------------------------------------------------

    async def _member(self, scope: Scope, user_id: uuid.UUID) -> Member:
        user, membership = await _load(scope.uow, scope.org, user_id)
        return _as_member(user, membership)

    async def _managed(
        self, scope: Scope, user_id: uuid.UUID, actor_role: Role | None
    ) -> tuple[User, Membership]:
        user, membership = await _load(scope.uow, scope.org, user_id)
        if actor_role is None or membership.role.rank > actor_role.rank:
            raise PermissionDeniedError(
                f"{user.username} is {membership.role.value}: only an equal or higher role "
                "can change them"
            )
        return user, membership


async def _check_whole_account(scope: Scope, principal: Principal, user: User) -> None:
    """Disabling or enabling acts on the account in every organization it belongs to: the
    principal must be able to manage the user in each of them, not only in their own."""
    if principal.is_superuser:
        return
    for other in await scope.uow.memberships.for_user(user.id):
        if other.organization_id == scope.org:
            continue
        mine = await scope.uow.memberships.get(principal.user_id, other.organization_id)
        if (
            mine is None
            or USERS_MANAGE not in permissions_of(mine.role)
            or other.role.rank > mine.role.rank
        ):
            org = await scope.uow.organizations.get(other.organization_id)
            raise PermissionDeniedError(
                f"{user.username} also belongs to {org.name}, where you cannot manage them: "
                "remove them from this organization instead"
            )



async def _actor_role(scope: Scope) -> Role | None:
    assert scope.principal is not None
    membership = await scope.uow.memberships.get(scope.principal.user_id, scope.org)
    return membership.role if membership else None


def _check_grant(principal: Principal, role: Role, actor_role: Role | None = None) -> None:
    mine = actor_role if actor_role is not None else principal.role
    if mine is None or role.rank > mine.rank:
        raise PermissionDeniedError(
            f"you cannot grant the {role.value} role: it is above your own"
        )


async def _load(uow: UnitOfWork, org_id: uuid.UUID, user_id: uuid.UUID) -> tuple[User, Membership]:
    """The user and their membership in ``org_id``; users of other organizations are
    reported as not found (never returned)."""
    membership = await uow.memberships.get(user_id, org_id)
    if membership is None:
        raise NotFoundError("user", user_id)
    return await uow.users.get(user_id), membership


async def _keep_an_owner(uow: UnitOfWork, org_id: uuid.UUID, leaving: uuid.UUID) -> None:
    after: str | None = None
    while True:
        page = await uow.memberships.for_organization(org_id, PageRequest(limit=200, after=after))
        for m in page.items:
            if m.role is Role.OWNER and m.user_id != leaving:
                other = await uow.users.get(m.user_id)
                if other.is_active:
                    return
        if page.next_cursor is None:
            break
        after = page.next_cursor
    raise ConflictError("the organization must keep at least one active owner")


def _as_member(user: User, membership: Membership) -> Member:
    return Member(public_user(user), membership.organization_id, membership.role,
                  membership.created_at)


async def list_members(uow: UnitOfWork, org_id: uuid.UUID, page: PageRequest) -> Page[Member]:
    users = await uow.users.list(page, organization_id=org_id)
    members = []
    for user in users.items:
        membership = await uow.memberships.get(user.id, org_id)
        if membership is not None:
            members.append(_as_member(user, membership))
    return Page(items=tuple(members), next_cursor=users.next_cursor)
