"""SQL repositories of sign-in state: refresh tokens, login throttles, invitations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from ...domain.identity import AccessToken, Invitation, LoginThrottle, RefreshTokenRecord
from .repositories import _Repository, col
from .tables import login_throttles


class SqlRefreshTokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, record: RefreshTokenRecord) -> RefreshTokenRecord:
        self.session.add(record)
        await self.session.flush()
        return record

    async def get(self, jti: str) -> RefreshTokenRecord | None:
        return await self.session.get(RefreshTokenRecord, jti)

    async def mark_used(self, jti: str, at: datetime) -> bool:
        """Mark ``jti`` used if it is still unused and unrevoked; False if someone was first."""
        result = await self.session.execute(
            update(RefreshTokenRecord)
            .where(
                col(RefreshTokenRecord, "jti") == jti,
                col(RefreshTokenRecord, "used_at").is_(None),
                col(RefreshTokenRecord, "revoked_at").is_(None),
            )
            .values(used_at=at)
            .execution_options(synchronize_session="fetch")
        )
        return bool(getattr(result, "rowcount", 0))

    async def _revoke(self, where: Any, at: datetime) -> int:
        result = await self.session.execute(
            update(RefreshTokenRecord)
            .where(where, col(RefreshTokenRecord, "revoked_at").is_(None))
            .values(revoked_at=at)
            .execution_options(synchronize_session="fetch")
        )
        return int(getattr(result, "rowcount", 0))

    async def revoke_family(self, family_id: uuid.UUID, at: datetime) -> int:
        return await self._revoke(col(RefreshTokenRecord, "family_id") == family_id, at)

    async def revoke_user(self, user_id: uuid.UUID, at: datetime) -> int:
        return await self._revoke(col(RefreshTokenRecord, "user_id") == user_id, at)

    async def purge_expired(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(RefreshTokenRecord)
            .where(col(RefreshTokenRecord, "expires_at") < before)
            .execution_options(synchronize_session="fetch")
        )
        return int(getattr(result, "rowcount", 0))


class SqlLoginThrottleRepository:
    """Counters updated in the database in one statement each (never read, add, write
    back): concurrent failures are all counted, on SQLite and PostgreSQL alike."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, key: str) -> LoginThrottle | None:
        return await self.session.get(LoginThrottle, key, populate_existing=True)

    def _upsert(self, key: str, **values: Any) -> Any:
        dialect = self.session.get_bind().dialect.name
        make = pg_insert if dialect == "postgresql" else sqlite_insert
        return make(login_throttles).values(key=key, **values)

    async def add_failure(self, key: str, at: datetime) -> int:
        """Count one failure for ``key``; the count after it."""
        stmt = self._upsert(key, failures=1, last_failure_at=at)
        stmt = stmt.on_conflict_do_update(
            index_elements=[login_throttles.c.key],
            set_={"failures": login_throttles.c.failures + 1, "last_failure_at": at},
        ).returning(login_throttles.c.failures)
        return int((await self.session.execute(stmt)).scalar_one())

    async def lock(self, key: str, until: datetime) -> None:
        """Hold ``key`` until ``until`` (a lock already reaching further is kept)."""
        column = login_throttles.c.locked_until
        await self.session.execute(
            login_throttles.update()
            .where(login_throttles.c.key == key, (column.is_(None)) | (column < until))
            .values(locked_until=until)
        )

    async def succeeded(self, key: str, at: datetime) -> None:
        """A success from ``key``: its failures are forgotten and it is a known source."""
        stmt = self._upsert(key, failures=0, last_success_at=at)
        await self.session.execute(stmt.on_conflict_do_update(
            index_elements=[login_throttles.c.key],
            set_={"failures": 0, "locked_until": None, "last_success_at": at},
        ))

    async def clear(self, key: str) -> None:
        await self.session.execute(
            delete(LoginThrottle)
            .where(col(LoginThrottle, "key") == key)
            .execution_options(synchronize_session="fetch")
        )


class SqlInvitationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, invitation: Invitation) -> Invitation:
        self.session.add(invitation)
        await self.session.flush()
        return invitation

    async def get(self, invitation_id: uuid.UUID) -> Invitation | None:
        return await self.session.get(Invitation, invitation_id)

    async def find(self, organization_id: uuid.UUID, user_id: uuid.UUID) -> Invitation | None:
        stmt = select(Invitation).where(
            col(Invitation, "organization_id") == organization_id,
            col(Invitation, "user_id") == user_id,
        )
        return (await self.session.scalars(stmt)).first()

    async def for_user(self, user_id: uuid.UUID) -> Sequence[Invitation]:
        stmt = (
            select(Invitation)
            .where(col(Invitation, "user_id") == user_id)
            .order_by(col(Invitation, "created_at"))
        )
        return list((await self.session.scalars(stmt)).all())

    async def delete(self, invitation_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(Invitation)
            .where(col(Invitation, "id") == invitation_id)
            .execution_options(synchronize_session="fetch")
        )


class SqlAccessTokenRepository(_Repository[AccessToken]):
    entity, label = AccessToken, "access token"

    async def by_hash(self, token_hash: str) -> AccessToken | None:
        stmt = select(AccessToken).where(col(AccessToken, "token_hash") == token_hash)
        return (await self.session.scalars(stmt)).first()

    async def of_user(self, user_id: uuid.UUID) -> Sequence[AccessToken]:
        stmt = (select(AccessToken).where(col(AccessToken, "user_id") == user_id,
                                          col(AccessToken, "revoked_at").is_(None))
                .order_by(col(AccessToken, "created_at")))
        return tuple((await self.session.scalars(stmt)).all())
