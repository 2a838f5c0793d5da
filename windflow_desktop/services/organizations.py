"""``OrganizationService``: create, list, get, rename, members, delete."""

from __future__ import annotations

import uuid

from ..domain.enums import Role
from ..domain.errors import AuthenticationError, NotFoundError
from ..domain.identity import Invitation, Member, PendingInvitation, Principal
from ..domain.models import Membership, Organization, User
from ..domain.paging import Page, PageRequest
from ..domain.permissions import (
    ORG_DELETE,
    ORG_MANAGE,
    ORG_READ,
    USERS_MANAGE,
    USERS_READ,
    permissions_of,
)
from ..repositories.protocols import UnitOfWork
from ..security.secrets import SecretStore
from .common import ServiceContext, clean_org_name, confirm_session, unique_slug
from .secret_refs import delete_secrets, deployments_secret_refs, targets_secret_refs
from .users import list_members


class OrganizationService:
    """Public API (all async, acting principal first):

    ``create(p, name) -> Organization`` (any active user; they become its owner),
    ``list(p) -> Page[Organization]`` (the user's organizations; all for a superuser),
    ``get(p, organization_id)``, ``rename(p, organization_id, name)``,
    ``members(p, organization_id, page=None) -> Page[Member]``, ``delete(p, organization_id)``;
    the principal's own invitations: ``invitations(p)``, ``accept_invitation(p, id)``,
    ``decline_invitation(p, id)``.
    """

    def __init__(self, context: ServiceContext, secrets: SecretStore) -> None:
        self.ctx = context
        self.secrets = secrets

    async def create(self, principal: Principal, name: str) -> Organization:
        name = clean_org_name(name)
        async with self.ctx.transaction(principal) as scope:
            uow = scope.uow
            user = await _acting_user(uow, principal)
            now = self.ctx.clock()
            org = await uow.organizations.add(
                Organization(name=name, slug=await unique_slug(uow, name), created_at=now)
            )
            await uow.memberships.save(Membership(user.id, org.id, Role.OWNER, now))
            scope.organization_id = org.id
            scope.record("organization.created", "organization", org.id, {"name": name})
            return org

    async def list(
        self, principal: Principal, page: PageRequest | None = None
    ) -> Page[Organization]:
        page = page or PageRequest()
        async with self.ctx.backend.unit_of_work() as uow:
            await confirm_session(uow, principal)
            user = await _acting_user(uow, principal)
            if user.is_superuser:  # *:read_all
                result = await uow.organizations.list(page)
            else:
                orgs = [
                    await uow.organizations.get(m.organization_id)
                    for m in await uow.memberships.for_user(user.id)
                ]
                needle = (page.search or "").strip().lower()
                orgs = sorted((o for o in orgs if needle in o.name.lower()), key=lambda o: o.name)
                result = Page(items=tuple(orgs[: page.limit]))
            await uow.commit()  # ends the transaction without expiring what we return
            return result

    async def get(self, principal: Principal, organization_id: uuid.UUID) -> Organization:
        async with self.ctx.authorized(principal, ORG_READ, organization_id) as scope:
            return await scope.uow.organizations.get(organization_id)

    async def rename(
        self, principal: Principal, organization_id: uuid.UUID, name: str
    ) -> Organization:
        name = clean_org_name(name)
        async with self.ctx.authorized(principal, ORG_MANAGE, organization_id) as scope:
            org = await scope.uow.organizations.get(organization_id)
            old, org.name = org.name, name
            org = await scope.uow.organizations.save(org)
            scope.record("organization.renamed", "organization", org.id,
                         {"from": old, "to": name})
            return org

    async def members(
        self, principal: Principal, organization_id: uuid.UUID, page: PageRequest | None = None
    ) -> Page[Member]:
        async with self.ctx.authorized(principal, USERS_READ, organization_id) as scope:
            return await list_members(scope.uow, organization_id, page or PageRequest())

    async def delete(self, principal: Principal, organization_id: uuid.UUID) -> None:
        """Delete the organization and everything in it (targets, stacks, deployments);
        after the commit, their keyring entries go too."""
        async with self.ctx.authorized(principal, ORG_DELETE, organization_id) as scope:
            org = await scope.uow.organizations.get(organization_id)
            refs = [*await targets_secret_refs(scope.uow, organization_id),
                    *await deployments_secret_refs(scope.uow, organization_id)]
            await scope.uow.organizations.delete(organization_id)
            # The organization's own audit rows go with it; this one outlives it.
            scope.record("organization.deleted", "organization", org.id,
                         {"name": org.name, "slug": org.slug}, organization_id=None)
        await delete_secrets(self.secrets, refs, f"deleted organization {organization_id}")

    # -- the principal's own invitations ---------------------------------------------

    async def invitations(self, principal: Principal) -> tuple[PendingInvitation, ...]:
        """The invitations waiting for the principal's answer, oldest first."""
        async with self.ctx.transaction(principal) as scope:
            user = await _acting_user(scope.uow, principal)
            pending = [
                PendingInvitation(i.id, await scope.uow.organizations.get(i.organization_id),
                                  i.role, i.created_at)
                for i in await scope.uow.invitations.for_user(user.id)
                if await _still_granted(scope.uow, i)
            ]
            return tuple(pending)

    async def accept_invitation(self, principal: Principal, invitation_id: uuid.UUID) -> Membership:
        """Join the organization of the principal's own invitation with its role. One
        whose sender can no longer grant that role there (removed, demoted, disabled)
        has lapsed: it is deleted and reads as not found."""
        membership: Membership | None = None
        async with self.ctx.transaction(principal) as scope:
            uow = scope.uow
            user = await _acting_user(uow, principal)
            invitation = await _own_invitation(uow, user.id, invitation_id)
            await uow.invitations.delete(invitation.id)
            scope.organization_id = invitation.organization_id
            if not await _still_granted(uow, invitation):
                scope.record("invitation.lapsed", "invitation", invitation.id, {})
            else:
                membership = await uow.memberships.get(user.id, invitation.organization_id)
                if membership is None:
                    membership = await uow.memberships.save(Membership(
                        user.id, invitation.organization_id, invitation.role,
                        self.ctx.clock(),
                    ))
                scope.record("membership.added", "user", user.id,
                             {"username": user.username, "role": membership.role.value,
                              "invited": True})
        if membership is None:  # lapsed: deleted above, and gone for the caller too
            raise NotFoundError("invitation", invitation_id)
        return membership

    async def decline_invitation(self, principal: Principal, invitation_id: uuid.UUID) -> None:
        async with self.ctx.transaction(principal) as scope:
            user = await _acting_user(scope.uow, principal)
            invitation = await _own_invitation(scope.uow, user.id, invitation_id)
            await scope.uow.invitations.delete(invitation.id)
            scope.organization_id = invitation.organization_id
            scope.record("invitation.declined", "invitation", invitation.id, {})


async def _acting_user(uow: UnitOfWork, principal: Principal) -> User:
    """The principal's own account, which must exist and be active."""
    try:
        user = await uow.users.get(principal.user_id)
    except NotFoundError as exc:
        raise AuthenticationError("your account no longer exists") from exc
    if not user.is_active:
        raise AuthenticationError("your account is disabled", code="ACCOUNT_DISABLED")
    return user


async def _own_invitation(
    uow: UnitOfWork, user_id: uuid.UUID, invitation_id: uuid.UUID
) -> Invitation:
    """The invitation, if it is this user's; anyone else's reads as not found."""
    invitation = await uow.invitations.get(invitation_id)
    if invitation is None or invitation.user_id != user_id:
        raise NotFoundError("invitation", invitation_id)
    return invitation


async def _still_granted(uow: UnitOfWork, invitation: Invitation) -> bool:
    """Whether the invitation's sender could still grant its role in its organization
    (an active account that manages users there with an equal or higher role)."""
    if invitation.invited_by is None:
        return False
    try:
        sender = await uow.users.get(invitation.invited_by)
    except NotFoundError:
        return False
    if not sender.is_active:
        return False
    if sender.is_superuser:
        return True
    held = await uow.memberships.get(sender.id, invitation.organization_id)
    return (held is not None and USERS_MANAGE in permissions_of(held.role)
            and held.role.rank >= invitation.role.rank)
