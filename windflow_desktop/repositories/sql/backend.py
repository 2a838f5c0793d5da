"""``SqlBackend``: the workspace in a SQL database, one session per unit of work."""

from __future__ import annotations

from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ...tasks import run_to_end
from .database import create_engine, describe_url, migrate, session_factory
from .identity_repositories import (
    SqlAccessTokenRepository,
    SqlInvitationRepository,
    SqlLoginThrottleRepository,
    SqlRefreshTokenRepository,
)
from .repositories import (
    SqlAuditRepository,
    SqlDeploymentRepository,
    SqlMembershipRepository,
    SqlOrganizationRepository,
    SqlSealedSecretRepository,
    SqlStackRepository,
    SqlTargetRepository,
    SqlUserRepository,
    SqlWorkspaceMetaRepository,
)
from .standings import StandingCache


class SqlUnitOfWork:
    """Repositories sharing one transaction; leaving without ``commit()`` rolls back."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 standings: StandingCache | None = None) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None
        self._standings = standings

    async def __aenter__(self) -> Self:
        session = self._session = self._sessions()
        self.organizations = SqlOrganizationRepository(session)
        self.users = SqlUserRepository(session, self._standings)
        self.memberships = SqlMembershipRepository(session)
        self.targets = SqlTargetRepository(session)
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
        await self._session.commit()

    async def rollback(self) -> None:
        assert self._session is not None, "use the unit of work in 'async with'"
        await self._session.rollback()


class SqlBackend:
    """The workspace in SQLite (default) or PostgreSQL; ``open()`` migrates to head."""

    def __init__(self, url: str, *, engine: AsyncEngine | None = None) -> None:
        self.engine = engine or create_engine(url)
        self.description = describe_url(self.engine)
        self._sessions: async_sessionmaker[Any] = session_factory(self.engine)
        self._standings: StandingCache | None = None

    async def open(self) -> None:
        await migrate(self.engine)

    def remember_standings(self) -> None:
        """Keep users' standings between units of work (``standings.py``): only for a
        database no other process writes."""
        if self._standings is None:
            self._standings = StandingCache()
            self._standings.watch(self.engine)

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions, self._standings)

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
