"""``UsersStore``: the members of the signed-in organization and the organizations of the
signed-in user, for Settings → Users & roles and the account menu's organization switcher.

The store follows the ``SessionStore``: when the acting principal changes (sign-in,
organization switch, sign-out) it reloads or clears. Every mutation goes through
``UserService`` with the session's principal (the service enforces the permissions; the
helpers here only decide what the screens offer) and its result is applied to the rows as
one precise change.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal

from ..domain.enums import Role
from ..domain.errors import NotFoundError
from ..domain.events import Event
from ..domain.identity import Member, PendingInvitation, Principal
from ..domain.models import Organization
from ..domain.paging import PageRequest
from ..domain.permissions import USERS_MANAGE, PermissionChecker
from ..services.protocols import OrganizationsApi, UsersApi
from .base import Store
from .session import SessionStore

__all__ = ["Member", "PendingInvitation", "UsersStore"]  # the UI reads rows from here

log = logging.getLogger("windflow.stores.users")

PAGE_SIZE = 200


_PEOPLE_AGGREGATES = frozenset({"user", "membership", "organization"})
_NOT_A_CHANGE = frozenset({"user.logged_in", "user.login_failed", "user.login_refused",
                           "user.password_change_failed", "user.unlock_failed"})


class UsersStore(Store):
    """Signals (besides those of ``Store``):
    sig_members_reset(): ``members`` was replaced (loaded, organization switched, signed out).
    sig_members_applied(object, object): a batch of changes — the upserted ``Member`` rows
        (tuple) and the removed user ids (tuple of ``uuid.UUID``).
    sig_organizations_changed(): ``organizations`` was reloaded.
    sig_invitations_changed(): ``invitations`` (the user's own, pending) was reloaded.
    """

    sig_members_reset = Signal()
    sig_members_applied = Signal(object, object)
    sig_organizations_changed = Signal()
    sig_invitations_changed = Signal()

    def __init__(
        self,
        session: SessionStore,
        users: UsersApi,
        organizations: OrganizationsApi,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._session = session
        self._users = users
        self._orgs = organizations
        self._members: dict[uuid.UUID, Member] = {}
        self._organizations: tuple[Organization, ...] = ()
        self._invitations: tuple[PendingInvitation, ...] = ()
        self._loaded_for: tuple[uuid.UUID, uuid.UUID | None, Role | None] | None = None
        self.loaded = False
        self._identity_changed(session.principal)
        session.sig_session_changed.connect(self._on_session_changed)

    # -- state -----------------------------------------------------------------------

    @property
    def members(self) -> tuple[Member, ...]:
        return tuple(self._members.values())

    def member(self, user_id: uuid.UUID) -> Member | None:
        return self._members.get(user_id)

    @property
    def organizations(self) -> tuple[Organization, ...]:
        return self._organizations

    @property
    def invitations(self) -> tuple[PendingInvitation, ...]:
        """The signed-in user's pending invitations, to accept or decline."""
        return self._invitations

    @property
    def principal(self) -> Principal | None:
        return self._session.principal

    @property
    def can_manage(self) -> bool:
        """Whether to offer invite/change role/disable/remove (the service decides anyway)."""
        p = self.principal
        return p is not None and PermissionChecker(p).has_permission(USERS_MANAGE)

    def grantable_roles(self) -> tuple[Role, ...]:
        """The roles the principal may give: their own and those below it."""
        p = self.principal
        if p is None or p.role is None or not self.can_manage:
            return ()
        return tuple(r for r in Role if r.rank <= p.role.rank)

    def can_change(self, member: Member) -> bool:
        """Whether the principal may change ``member`` (not someone who outranks them)."""
        p = self.principal
        return (
            self.can_manage and p is not None and p.role is not None
            and member.role.rank <= p.role.rank
        )

    def is_self(self, member: Member) -> bool:
        p = self.principal
        return p is not None and member.user.id == p.user_id

    # -- live updates --------------------------------------------------------------

    def apply_events(self, events: Sequence[Event]) -> None:
        """Reload once for a batch that changed people in this organization (any window)."""
        principal = self.principal
        if principal is None or not self.loaded:
            return
        org = str(principal.organization_id) if principal.organization_id else None
        if any(
            e.event_type.split(".", 1)[0] in _PEOPLE_AGGREGATES
            and e.event_type not in _NOT_A_CHANGE
            and (e.organization_id in (None, org))
            for e in events
        ):
            self.load()

    # -- actions (each returns the tracked task; the result is None on an expected error)

    def load(self) -> Any:
        """Reload the members of the current organization and the user's organizations."""

        async def act() -> tuple[Member, ...]:
            principal = self._require()
            orgs = await self._orgs.list(principal, PageRequest(limit=PAGE_SIZE))
            self._organizations = tuple(orgs.items)
            self.sig_organizations_changed.emit()
            members: list[Member] = []
            if principal.organization_id is not None:
                after: str | None = None
                while True:
                    page = await self._orgs.members(
                        principal, principal.organization_id,
                        PageRequest(limit=PAGE_SIZE, after=after),
                    )
                    members.extend(page.items)
                    if page.next_cursor is None:
                        break
                    after = page.next_cursor
            self._reset(members)
            return self.members

        return self.run("load", act)

    def create_user(
        self, *, username: str, email: str, password: str, role: Role, full_name: str = ""
    ) -> Any:
        """A new account in the current organization with ``role``."""

        async def act() -> Member:
            member = await self._users.create_user(
                self._require(), username=username, email=email, password=password,
                role=role, full_name=full_name,
            )
            self._apply([member])
            return member

        return self.run("create_user", act)

    def add_member(self, login: str, role: Role) -> Any:
        """Invite an existing account (by username or email) into the current organization:
        it becomes a member once its user accepts. The answer is the same for any login."""

        async def act() -> None:
            await self._users.add_member(self._require(), login, role)

        return self.run("add_member", act)

    def load_invitations(self) -> Any:
        """Reload the signed-in user's own pending invitations."""

        async def act() -> tuple[PendingInvitation, ...]:
            self._set_invitations(await self._orgs.invitations(self._require()))
            return self._invitations

        return self.run("load_invitations", act)

    def accept_invitation(self, invitation_id: uuid.UUID) -> Any:
        """Join the invitation's organization (then listed among the user's own)."""

        async def act() -> uuid.UUID:
            principal = self._require()
            async with self._rereading_invitations(principal):
                await self._orgs.accept_invitation(principal, invitation_id)
            self._set_invitations(await self._orgs.invitations(principal))
            orgs = await self._orgs.list(principal, PageRequest(limit=PAGE_SIZE))
            self._organizations = tuple(orgs.items)
            self.sig_organizations_changed.emit()
            return invitation_id

        return self.run(f"answer:{invitation_id}", act)

    def decline_invitation(self, invitation_id: uuid.UUID) -> Any:
        async def act() -> uuid.UUID:
            principal = self._require()
            async with self._rereading_invitations(principal):
                await self._orgs.decline_invitation(principal, invitation_id)
            self._set_invitations(await self._orgs.invitations(principal))
            return invitation_id

        return self.run(f"answer:{invitation_id}", act)

    @contextlib.asynccontextmanager
    async def _rereading_invitations(self, principal: Principal) -> AsyncIterator[None]:
        """An invitation that is gone (answered elsewhere, or lapsed: its sender can no
        longer grant it) fails the answer; the list is read again so its row goes."""
        try:
            yield
        except NotFoundError:
            self._set_invitations(await self._orgs.invitations(principal))
            raise

    def change_role(self, user_id: uuid.UUID, role: Role) -> Any:
        async def act() -> Member:
            member = await self._users.change_role(self._require(), user_id, role)
            self._apply([member])
            return member

        return self.run(f"change_role:{user_id}", act)

    def disable_user(self, user_id: uuid.UUID) -> Any:
        async def act() -> Member:
            member = await self._users.disable_user(self._require(), user_id)
            self._apply([member])
            return member

        return self.run(f"set_active:{user_id}", act)

    def enable_user(self, user_id: uuid.UUID) -> Any:
        async def act() -> Member:
            member = await self._users.enable_user(self._require(), user_id)
            self._apply([member])
            return member

        return self.run(f"set_active:{user_id}", act)

    def remove_member(self, user_id: uuid.UUID) -> Any:
        async def act() -> uuid.UUID:
            await self._users.remove_member(self._require(), user_id)
            self._apply([], [user_id])
            return user_id

        return self.run(f"remove:{user_id}", act)

    # -- helpers ---------------------------------------------------------------------

    def _require(self) -> Principal:
        return self._session.require_principal()

    def _set_invitations(self, invitations: Sequence[PendingInvitation]) -> None:
        self._invitations = tuple(invitations)
        self.sig_invitations_changed.emit()

    def _reset(self, members: Sequence[Member]) -> None:
        self._members = {m.user.id: m for m in members}
        self.loaded = True
        self.sig_members_reset.emit()
        self.sig_changed.emit()

    def _apply(self, upserts: Sequence[Member], removals: Sequence[uuid.UUID] = ()) -> None:
        for member in upserts:
            self._members[member.user.id] = member
        for user_id in removals:
            self._members.pop(user_id, None)
        self.sig_members_applied.emit(tuple(upserts), tuple(removals))
        self.sig_changed.emit()

    def _on_session_changed(self) -> None:
        p = self._session.principal
        if self._identity_changed(p) and not self._closed:
            self.cancel_all()  # a result of the previous session must not land
        key = (p.user_id, p.organization_id, p.role) if p is not None else None
        if key == self._loaded_for or self._closed:
            return  # tokens rotated: same people, same rights
        self._loaded_for = key
        if p is None:
            pending = self._actions.get("load")
            if pending is not None:
                pending.cancel()
            self._organizations = ()
            self.loaded = False
            self.sig_organizations_changed.emit()
            self._set_invitations(())
            self._reset([])
            self.loaded = False
        else:
            self.load()
            self.load_invitations()
