"""SQL repositories over the imperatively mapped domain classes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import bindparam, delete, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from ...domain.enums import (
    Role,
    TargetKind,
    TargetStatus,
)
from ...domain.errors import NotFoundError
from ...domain.identity import Standing
from ...domain.models import (
    AuditEvent,
    Membership,
    Organization,
    Stack,
    StackRevision,
    Target,
    TargetCapability,
    User,
)
from ...domain.paging import Page, PageRequest
from .paging import keyset_page, search_filter
from .read_cache import ReadCache
from .tables import (
    access_tokens,
    map_domain,
    refresh_tokens,
    sealed_secrets,
    workspace_meta,
)
from .tables import memberships as memberships_table

map_domain()

E = TypeVar("E")


def col(cls: type[Any], name: str) -> Any:
    """The mapped column attribute ``cls.name`` (dataclass fields are shadowed by the mapper)."""
    return getattr(cls, name)


class _Repository(Generic[E]):
    entity: type[E]
    label: str

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, obj: E) -> E:
        self.session.add(obj)
        await self.session.flush()
        return obj

    async def save(self, obj: E) -> E:
        merged = await self.session.merge(obj)
        await self.session.flush()
        return merged

    async def get(self, obj_id: uuid.UUID) -> E:
        obj = await self.session.get(self.entity, obj_id)
        if obj is None:
            raise NotFoundError(self.label, obj_id)
        return obj

    async def delete(self, obj_id: uuid.UUID) -> None:
        await self.session.delete(await self.get(obj_id))
        await self.session.flush()

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(self.entity)) or 0)


class SqlOrganizationRepository(_Repository[Organization]):
    entity, label = Organization, "organization"

    async def get_by_slug(self, slug: str) -> Organization | None:
        stmt = select(Organization).where(col(Organization, "slug") == slug)
        return (await self.session.scalars(stmt)).first()

    async def list(self, page: PageRequest) -> Page[Organization]:
        name, oid = col(Organization, "name"), col(Organization, "id")
        stmt = select(Organization).where(search_filter(page.search, name))
        return await keyset_page(self.session, stmt, [(name, False), (oid, False)], page)


def _standing(with_session: bool) -> Any:
    """The statement behind ``SqlUserRepository.standing``, built once (it runs on every
    authenticated request; building it anew each time cost more than running it)."""
    membership = memberships_table.c
    tokens = refresh_tokens.c
    pats = access_tokens.c
    family = bindparam("family_id", type_=tokens.family_id.type)
    live = ((select(tokens.jti).where(tokens.family_id == family,
                                      tokens.revoked_at.is_(None)).exists()
             | select(pats.id).where(pats.id == family, pats.revoked_at.is_(None)).exists())
            if with_session else true())
    return (select(User, membership.role, live)
            .outerjoin(memberships_table,
                       (membership.user_id == col(User, "id"))
                       & (membership.organization_id
                          == bindparam("organization_id",
                                       type_=membership.organization_id.type)))
            .where(col(User, "id") == bindparam("user_id", type_=col(User, "id").type)))


_STANDING = _standing(with_session=True)
_STANDING_NO_SESSION = _standing(with_session=False)


class SqlUserRepository(_Repository[User]):
    entity, label = User, "user"

    def __init__(self, session: AsyncSession,
                 standings: ReadCache[Any, Standing] | None = None) -> None:
        super().__init__(session)
        self._standings = standings
        # Taken as the unit of work begins: nothing it reads can be older than this.
        self._generation = standings.start() if standings is not None else None

    async def standing(self, user_id: uuid.UUID, organization_id: uuid.UUID | None,
                       family_id: uuid.UUID | None) -> Standing | None:
        """The user, their role in ``organization_id`` and whether the session
        ``family_id`` is live (a refresh-token family with an unrevoked token, or an
        unrevoked personal access token) — in one statement (every service call asks
        it); None when the user is gone."""
        key = (user_id, organization_id, family_id)
        if self._standings is not None:
            known = self._standings.get(key)
            if known is not None:
                return known
        stmt = _STANDING if family_id is not None else _STANDING_NO_SESSION
        params = {"user_id": user_id, "organization_id": organization_id,
                  "family_id": family_id}
        row = (await self.session.execute(stmt, params)).first()
        if row is None:
            return None
        user, role, session_live = row
        standing = Standing(user, Role(role) if role is not None else None, bool(session_live))
        if self._standings is not None:
            self._standings.put(key, standing, self._generation)
        return standing

    async def get_by_login(self, username_or_email: str) -> User | None:
        login = username_or_email.strip().lower()
        stmt = select(User).where(
            (func.lower(col(User, "username")) == login)
            | (func.lower(col(User, "email")) == login)
        )
        return (await self.session.scalars(stmt)).first()

    async def list(
        self, page: PageRequest, *, organization_id: uuid.UUID | None = None
    ) -> Page[User]:
        username, uid = col(User, "username"), col(User, "id")
        stmt = select(User).where(
            search_filter(page.search, username, col(User, "email"), col(User, "full_name"))
        )
        if organization_id is not None:
            stmt = stmt.join(Membership, col(Membership, "user_id") == uid).where(
                col(Membership, "organization_id") == organization_id
            )
        return await keyset_page(self.session, stmt, [(username, False), (uid, False)], page)


class SqlMembershipRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def save(self, membership: Membership) -> Membership:
        merged = await self.session.merge(membership)
        await self.session.flush()
        return merged

    async def get(self, user_id: uuid.UUID, organization_id: uuid.UUID) -> Membership | None:
        return await self.session.get(Membership, (user_id, organization_id))

    async def for_user(self, user_id: uuid.UUID) -> Sequence[Membership]:
        stmt = select(Membership).where(col(Membership, "user_id") == user_id)
        return tuple((await self.session.scalars(stmt)).all())

    async def for_organization(
        self, organization_id: uuid.UUID, page: PageRequest
    ) -> Page[Membership]:
        stmt = select(Membership).where(col(Membership, "organization_id") == organization_id)
        order = [(col(Membership, "created_at"), False), (col(Membership, "user_id"), False)]
        return await keyset_page(self.session, stmt, order, page)

    async def delete(self, user_id: uuid.UUID, organization_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(Membership).where(
                col(Membership, "user_id") == user_id,
                col(Membership, "organization_id") == organization_id,
            )
        )


class SqlTargetRepository(_Repository[Target]):
    entity, label = Target, "target"

    def __init__(self, session: AsyncSession,
                 pages: ReadCache[Any, Page[Target]] | None = None) -> None:
        super().__init__(session)
        self._pages = pages
        # Taken as the unit of work begins: nothing it reads can be older than this.
        self._generation = pages.start() if pages is not None else None

    async def browse(
        self,
        organization_id: uuid.UUID,
        page: PageRequest,
        *,
        status: TargetStatus | None = None,
        kind: TargetKind | None = None,
    ) -> Page[Target]:
        """``list``'s page, to be shown only: it may be remembered and shared with other
        readers until the targets are written (``read_cache.py``) — never change it."""
        if self._pages is None:
            return await self.list(organization_id, page, status=status, kind=kind)
        key = (organization_id, page.limit, page.after, page.search, status, kind)
        known = self._pages.get(key)
        if known is None:
            known = await self.list(organization_id, page, status=status, kind=kind)
            self._pages.put(key, known, self._generation)
        return known

    async def list(
        self,
        organization_id: uuid.UUID,
        page: PageRequest,
        *,
        status: TargetStatus | None = None,
        kind: TargetKind | None = None,
    ) -> Page[Target]:
        name, tid = col(Target, "name"), col(Target, "id")
        stmt = select(Target).where(
            col(Target, "organization_id") == organization_id,
            search_filter(page.search, name, col(Target, "host")),
        )
        if status is not None:
            stmt = stmt.where(col(Target, "status") == status)
        if kind is not None:
            stmt = stmt.where(col(Target, "kind") == kind)
        return await keyset_page(self.session, stmt, [(name, False), (tid, False)], page)

    async def set_capabilities(
        self, target_id: uuid.UUID, capabilities: Sequence[TargetCapability]
    ) -> None:
        await self.session.execute(
            delete(TargetCapability).where(col(TargetCapability, "target_id") == target_id)
        )
        self.session.add_all(capabilities)
        await self.session.flush()

    async def capabilities(self, target_id: uuid.UUID) -> Sequence[TargetCapability]:
        stmt = (
            select(TargetCapability)
            .where(col(TargetCapability, "target_id") == target_id)
            .order_by(col(TargetCapability, "kind"))
        )
        return tuple((await self.session.scalars(stmt)).all())

    async def count_by_status(self, organization_id: uuid.UUID) -> dict[TargetStatus, int]:
        status = col(Target, "status")
        stmt = (
            select(status, func.count())
            .where(col(Target, "organization_id") == organization_id)
            .group_by(status)
        )
        return {TargetStatus(s): int(n) for s, n in (await self.session.execute(stmt)).all()}


class SqlStackRepository(_Repository[Stack]):
    entity, label = Stack, "stack"

    async def list(
        self, organization_id: uuid.UUID, page: PageRequest, *, archived: bool = False
    ) -> Page[Stack]:
        name, sid, archived_at = col(Stack, "name"), col(Stack, "id"), col(Stack, "archived_at")
        stmt = select(Stack).where(
            col(Stack, "organization_id") == organization_id,
            archived_at.is_not(None) if archived else archived_at.is_(None),
            search_filter(page.search, name, col(Stack, "description")),
        )
        return await keyset_page(self.session, stmt, [(name, False), (sid, False)], page)

    async def add_revision(self, revision: StackRevision) -> StackRevision:
        self.session.add(revision)
        await self.session.flush()
        return revision

    async def get_revision(self, stack_id: uuid.UUID, number: int) -> StackRevision:
        stmt = select(StackRevision).where(
            col(StackRevision, "stack_id") == stack_id, col(StackRevision, "number") == number
        )
        revision = (await self.session.scalars(stmt)).first()
        if revision is None:
            raise NotFoundError("stack revision", f"{stack_id}#{number}")
        return revision

    async def get_revision_by_id(self, revision_id: uuid.UUID) -> StackRevision:
        revision = await self.session.get(StackRevision, revision_id)
        if revision is None:
            raise NotFoundError("stack revision", revision_id)
        return revision

    async def revisions(self, stack_id: uuid.UUID, page: PageRequest) -> Page[StackRevision]:
        stmt = select(StackRevision).where(col(StackRevision, "stack_id") == stack_id)
        return await keyset_page(
            self.session, stmt, [(col(StackRevision, "number"), True)], page
        )

    async def count_in(self, organization_id: uuid.UUID, *, archived: bool = False) -> int:
        archived_at = col(Stack, "archived_at")
        stmt = select(func.count()).select_from(Stack).where(
            col(Stack, "organization_id") == organization_id,
            archived_at.is_not(None) if archived else archived_at.is_(None),
        )
        return int(await self.session.scalar(stmt) or 0)


class SqlAuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, event: AuditEvent) -> AuditEvent:
        self.session.add(event)
        await self.session.flush()
        return event

    async def list(
        self,
        organization_id: uuid.UUID | None,
        page: PageRequest,
        *,
        type_prefix: str | None = None,
        actor_id: uuid.UUID | None = None,
        aggregate_id: str | None = None,
        since: datetime | None = None,
    ) -> Page[AuditEvent]:
        ts, eid = col(AuditEvent, "ts"), col(AuditEvent, "id")
        stmt = select(AuditEvent).where(
            search_filter(page.search, col(AuditEvent, "type"), col(AuditEvent, "aggregate_id"))
        )
        if organization_id is not None:
            stmt = stmt.where(col(AuditEvent, "organization_id") == organization_id)
        if type_prefix:
            stmt = stmt.where(col(AuditEvent, "type").startswith(type_prefix, autoescape=True))
        if actor_id is not None:
            stmt = stmt.where(col(AuditEvent, "actor_id") == actor_id)
        if aggregate_id is not None:
            stmt = stmt.where(col(AuditEvent, "aggregate_id") == aggregate_id)
        if since is not None:
            stmt = stmt.where(ts >= since)
        return await keyset_page(self.session, stmt, [(ts, True), (eid, True)], page)


class SqlWorkspaceMetaRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, key: str) -> str | None:
        stmt = select(workspace_meta.c.value).where(workspace_meta.c.key == key)
        value = await self.session.scalar(stmt)
        return None if value is None else str(value)

    async def set(self, key: str, value: str) -> None:
        if await self.get(key) is None:
            await self.session.execute(workspace_meta.insert().values(key=key, value=value))
        else:
            await self.session.execute(
                workspace_meta.update().where(workspace_meta.c.key == key).values(value=value)
            )


class SqlSealedSecretRepository:
    """Rows of sealed secrets: (name → key id, ciphertext); never a value in clear."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, name: str) -> tuple[str, str] | None:
        stmt = select(sealed_secrets.c.key_id, sealed_secrets.c.ciphertext).where(
            sealed_secrets.c.name == name)
        row = (await self.session.execute(stmt)).first()
        return None if row is None else (str(row[0]), str(row[1]))

    async def put(self, name: str, key_id: str, ciphertext: str, now: datetime) -> None:
        values = {"key_id": key_id, "ciphertext": ciphertext, "updated_at": now}
        done = await self.session.execute(
            sealed_secrets.update().where(sealed_secrets.c.name == name).values(**values))
        if not done.rowcount:  # type: ignore[attr-defined]
            await self.session.execute(sealed_secrets.insert().values(name=name, **values))

    async def delete(self, name: str) -> None:
        await self.session.execute(sealed_secrets.delete().where(sealed_secrets.c.name == name))

    async def sealed_under_other(self, key_id: str, limit: int) -> list[tuple[str, str, str]]:
        """(name, key id, ciphertext) of up to ``limit`` rows not sealed under ``key_id``."""
        stmt = (select(sealed_secrets.c.name, sealed_secrets.c.key_id,
                       sealed_secrets.c.ciphertext)
                .where(sealed_secrets.c.key_id != key_id)
                .order_by(sealed_secrets.c.name).limit(limit))
        return [(str(a), str(b), str(c)) for a, b, c in (await self.session.execute(stmt))]
