"""``SqlBackend``: the workspace in a SQL database, one session per unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ...domain.identity import Standing
from ...domain.models import Target
from ...domain.paging import Page
from ...tasks import run_to_end
from .database import create_engine, describe_url, migrate, session_factory
from .deployment_repository import SqlDeploymentRepository
from .identity_repositories import (
    SqlAccessTokenRepository,
    SqlInvitationRepository,
    SqlLoginThrottleRepository,
    SqlRefreshTokenRepository,
)
from .read_cache import PEOPLE_TABLES, TARGET_TABLES, ReadCache
from .repositories import (
    SqlAuditRepository,
    SqlMembershipRepository,
    SqlOrganizationRepository,
    SqlSealedSecretRepository,
    SqlStackRepository,
    SqlTargetRepository,
    SqlUserRepository,
    SqlWorkspaceMetaRepository,
)


@dataclass(frozen=True)
class RememberedReads:
    standings: ReadCache[Any, Standing]
    target_pages: ReadCache[Any, Page[Target]]


class SqlUnitOfWork:
    """Repositories sharing one transaction; leaving without ``commit()`` rolls back."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 reads: RememberedReads | None = None) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None
        self._reads = reads

    async def __aenter__(self) -> Self:
        session = self._session = self._sessions()
        self.organizations = SqlOrganizationRepository(session)
        reads = self._reads
        self.users = SqlUserRepository(session, reads.standings if reads else None)
        self.memberships = SqlMembershipRepository(session)
        self.targets = SqlTargetRepository(session, reads.target_pages if reads else None)
        self.stacks = SqlStackRepository(session)
        self.deployments = SqlDeploymentRepository(session)
        self.audit = SqlAuditRepository(session)
        self.refresh_tokens = SqlRefreshTokenRepository(session)
        self.login_throttles = SqlLoginThrottleRepository(session)
        self.invitations = SqlInvitationRepository(session)
        self.workspace_meta = SqlWorkspaceMetaRepository(session)
        self.sealed_secrets = SqlSealedSecretRepository(session)
        self.access_tokens = SqlAccessTokenRepository(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._session is not None
        # close() rolls back what was not committed and detaches the objects *without*
        # expiring them (rollback() would), so rows read here stay readable afterwards.
        # It runs to its end even when the task is cancelled meanwhile: cut short, the
        # connection would never go back to the pool (a leaked aiosqlite connection
        # keeps its thread and is finalised by the garbage collector, anywhere).
        try:
            await run_to_end(self._session.close())
        finally:
            self._session = None

    async def commit(self) -> None:
        assert self._session is not None, "use the unit of work in 'async with'"
        if not self._session.in_transaction():
            return  # nothing was read, added or written (a remembered read): nothing to end
        # Run to its end like the close: after COMMIT the session gives its connection
        # back (a rollback-on-return), and a cancellation landing there had the pool
        # invalidate the connection mid-return ("Exception during reset", logged as an
        # error, at every sign-out or quit that cancels a store's load).
        await run_to_end(self._session.commit())

    async def rollback(self) -> None:
        assert self._session is not None, "use the unit of work in 'async with'"
        await self._session.rollback()


class SqlBackend:
    """The workspace in SQLite (default) or PostgreSQL; ``open()`` migrates to head."""

    def __init__(self, url: str, *, engine: AsyncEngine | None = None) -> None:
        self.engine = engine or create_engine(url)
        self.description = describe_url(self.engine)
        self._sessions: async_sessionmaker[Any] = session_factory(self.engine)
        self._reads: RememberedReads | None = None

    async def open(self) -> None:
        await migrate(self.engine)

    def remember_reads(self) -> None:
        """Keep users' standings and the targets lists as shown between units of work
        (``read_cache.py``): only for a database whose people and targets no other
        process writes."""
        if self._reads is None:
            self._reads = RememberedReads(ReadCache(PEOPLE_TABLES), ReadCache(TARGET_TABLES))
            self._reads.standings.watch(self.engine)
            self._reads.target_pages.watch(self.engine)

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions, self._reads)

    async def database_time(self) -> datetime:
        """The database server's time now (UTC, to the millisecond or better)."""
        query = _NOW[self.engine.dialect.name]
        async with self.engine.connect() as conn:
            value = (await conn.execute(text(query))).scalar_one()
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment

    async def close(self) -> None:
        await self.engine.dispose()


_NOW = {"postgresql": "SELECT clock_timestamp() AT TIME ZONE 'UTC'",
        "sqlite": "SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"}
