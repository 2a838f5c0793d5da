"""``SqlDeploymentRepository``: deployments, their stage records and log lines, the
workers' claims (``attempt`` fencing, heartbeats, cancel requests) and the counts the
dashboard reads."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update

from ...domain.enums import (
    ACTIVE_DEPLOYMENT,
    DeploymentStatus,
    LogStream,
)
from ...domain.errors import StaleAttemptError
from ...domain.models import (
    Deployment,
    DeploymentLog,
    DeploymentStageRecord,
)
from ...domain.paging import Page, PageRequest
from .paging import keyset_page, search_filter
from .repositories import _Repository, col
from .tables import (
    deployment_logs,
)
from .tables import deployments as deployments_table


class SqlDeploymentRepository(_Repository[Deployment]):
    entity, label = Deployment, "deployment"

    async def list(
        self,
        organization_id: uuid.UUID,
        page: PageRequest,
        *,
        status: Sequence[DeploymentStatus] | None = None,
        target_id: uuid.UUID | None = None,
        stack_id: uuid.UUID | None = None,
    ) -> Page[Deployment]:
        created, did = col(Deployment, "created_at"), col(Deployment, "id")
        stmt = select(Deployment).where(
            col(Deployment, "organization_id") == organization_id,
            search_filter(page.search, col(Deployment, "project_name")),
        )
        if status:
            stmt = stmt.where(col(Deployment, "status").in_(list(status)))
        if target_id is not None:
            stmt = stmt.where(col(Deployment, "target_id") == target_id)
        if stack_id is not None:
            stmt = stmt.where(col(Deployment, "stack_id") == stack_id)
        return await keyset_page(self.session, stmt, [(created, True), (did, True)], page)

    async def heartbeat(self, ids: Sequence[uuid.UUID], runner: str, at: datetime) -> None:
        """One UPDATE: these deployments are run by ``runner``, alive at ``at``."""
        if ids:
            await self.session.execute(
                update(deployments_table).where(deployments_table.c.id.in_(list(ids)))
                .values(runner=runner, heartbeat_at=at))

    async def claim(self, deployment_id: uuid.UUID, runner: str, expected_attempt: int,
                    at: datetime) -> bool:
        result = await self.session.execute(
            update(deployments_table)
            .where(deployments_table.c.id == deployment_id,
                   deployments_table.c.attempt == expected_attempt)
            .values(attempt=expected_attempt + 1, runner=runner, heartbeat_at=at)
            .execution_options(synchronize_session=False))
        # Claim in a unit of work of its own: a copy of the row this session read
        # before keeps the old attempt.
        return bool(getattr(result, "rowcount", 0) == 1)

    async def unfinished(self, limit: int = 500) -> Sequence[Deployment]:
        stmt = (select(Deployment)
                .where(col(Deployment, "status").in_(list(ACTIVE_DEPLOYMENT)))
                .order_by(col(Deployment, "created_at"), col(Deployment, "id"))
                .limit(limit))
        return list((await self.session.scalars(stmt)).all())

    async def release(self, deployment_id: uuid.UUID, attempt: int) -> None:
        await self.session.execute(
            update(deployments_table)
            .where(deployments_table.c.id == deployment_id,
                   deployments_table.c.attempt == attempt)
            .values(heartbeat_at=None)
            .execution_options(synchronize_session=False))

    async def request_cancel(self, deployment_id: uuid.UUID, at: datetime) -> bool:
        result = await self.session.execute(
            update(deployments_table)
            .where(deployments_table.c.id == deployment_id,
                   deployments_table.c.status.in_(list(ACTIVE_DEPLOYMENT)))
            .values(cancel_requested_at=at)
            .execution_options(synchronize_session=False))
        return bool(getattr(result, "rowcount", 0) == 1)

    async def request_stop(self, deployment_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(deployments_table)
            .where(deployments_table.c.id == deployment_id)
            .values(cancel_requested_at=at)
            .execution_options(synchronize_session=False))

    async def cancel_requested_at(self, deployment_id: uuid.UUID) -> datetime | None:
        asked: datetime | None = await self.session.scalar(
            select(deployments_table.c.cancel_requested_at)
            .where(deployments_table.c.id == deployment_id))
        return asked

    async def fence(self, deployment_id: uuid.UUID, attempt: int) -> None:
        # A no-op UPDATE: it takes the row lock (PostgreSQL), so a claim cannot land
        # between this check and the transaction's commit.
        result = await self.session.execute(
            update(deployments_table)
            .where(deployments_table.c.id == deployment_id,
                   deployments_table.c.attempt == attempt)
            .values(attempt=attempt)
            .execution_options(synchronize_session=False))
        if getattr(result, "rowcount", 0) != 1:
            raise StaleAttemptError(
                f"deployment {deployment_id}: attempt {attempt} is no longer the current "
                "one (another worker took it over); the write is refused")

    async def last_succeeded(self, stack_id: uuid.UUID, target_id: uuid.UUID, *,
                             exclude: uuid.UUID | None = None) -> Deployment | None:
        return await self.last_with_status(stack_id, target_id, [DeploymentStatus.SUCCEEDED],
                                           exclude=exclude)

    async def newest_per_project(self, organization_id: uuid.UUID,
                                 statuses: Sequence[DeploymentStatus]) -> Sequence[Deployment]:
        """For each (stack, target) of the organization, its newest deployment in one of
        ``statuses`` (one query: a window function, SQLite ≥ 3.25 and PostgreSQL)."""
        rank = func.row_number().over(
            partition_by=(deployments_table.c.stack_id, deployments_table.c.target_id),
            order_by=(deployments_table.c.created_at.desc(), deployments_table.c.id.desc()),
        ).label("rank")
        ranked = (
            select(deployments_table.c.id, rank)
            .where(deployments_table.c.organization_id == organization_id,
                   deployments_table.c.status.in_(list(statuses)))
            .subquery()
        )
        stmt = select(Deployment).where(
            col(Deployment, "id").in_(select(ranked.c.id).where(ranked.c.rank == 1)))
        return (await self.session.scalars(stmt)).all()

    async def last_with_status(self, stack_id: uuid.UUID, target_id: uuid.UUID,
                               statuses: Sequence[DeploymentStatus], *,
                               exclude: uuid.UUID | None = None) -> Deployment | None:
        stmt = (
            select(Deployment)
            .where(
                col(Deployment, "stack_id") == stack_id,
                col(Deployment, "target_id") == target_id,
                col(Deployment, "status").in_(list(statuses)),
                *([col(Deployment, "id") != exclude] if exclude is not None else []),
            )
            .order_by(col(Deployment, "created_at").desc())
            .limit(1)
        )
        return (await self.session.scalars(stmt)).first()

    async def append_logs(self, lines: Sequence[DeploymentLog]) -> None:
        # One executemany INSERT (Core): log bursts are large and rows are never read back
        # through this session, so the ORM unit-of-work bookkeeping is pure overhead.
        if not lines:
            return
        await self.session.execute(
            insert(deployment_logs),
            [{"deployment_id": x.deployment_id, "seq": x.seq, "ts": x.ts, "stream": x.stream,
              "line": x.line} for x in lines],
        )

    async def append_log_rows(
        self, deployment_id: uuid.UUID, rows: Sequence[tuple[int, datetime, LogStream, str]]
    ) -> None:
        if not rows:
            return
        await self.session.execute(
            insert(deployment_logs),
            [{"deployment_id": deployment_id, "seq": seq, "ts": ts, "stream": stream,
              "line": line} for seq, ts, stream, line in rows],
        )

    async def logs(
        self, deployment_id: uuid.UUID, *, after_seq: int = 0, limit: int = 1000
    ) -> Sequence[DeploymentLog]:
        seq = col(DeploymentLog, "seq")
        stmt = (
            select(DeploymentLog)
            .where(col(DeploymentLog, "deployment_id") == deployment_id, seq > after_seq)
            .order_by(seq)
            .limit(limit)
        )
        return tuple((await self.session.scalars(stmt)).all())

    async def logs_before(
        self, deployment_id: uuid.UUID, *, before_seq: int | None = None, limit: int = 1000
    ) -> Sequence[DeploymentLog]:
        seq = col(DeploymentLog, "seq")
        stmt = (
            select(DeploymentLog)
            .where(col(DeploymentLog, "deployment_id") == deployment_id,
                   *([seq < before_seq] if before_seq is not None else []))
            .order_by(seq.desc())
            .limit(limit)
        )
        return tuple(reversed((await self.session.scalars(stmt)).all()))

    async def trim_logs(self, deployment_id: uuid.UUID, through_seq: int, note: str,
                        at: datetime) -> None:
        await self.session.execute(
            delete(deployment_logs).where(deployment_logs.c.deployment_id == deployment_id,
                                          deployment_logs.c.seq <= through_seq))
        await self.session.execute(insert(deployment_logs), [{
            "deployment_id": deployment_id, "seq": through_seq, "ts": at,
            "stream": LogStream.SYSTEM, "line": note}])

    async def last_log_seq(self, deployment_id: uuid.UUID) -> int:
        stmt = select(func.max(col(DeploymentLog, "seq"))).where(
            col(DeploymentLog, "deployment_id") == deployment_id
        )
        return int(await self.session.scalar(stmt) or 0)

    async def save_stage(self, record: DeploymentStageRecord) -> DeploymentStageRecord:
        merged = await self.session.merge(record)
        await self.session.flush()
        return merged

    async def stages(self, deployment_id: uuid.UUID) -> Sequence[DeploymentStageRecord]:
        stmt = (
            select(DeploymentStageRecord)
            .where(col(DeploymentStageRecord, "deployment_id") == deployment_id)
            .order_by(col(DeploymentStageRecord, "seq"))
        )
        return tuple((await self.session.scalars(stmt)).all())

    async def count_by_status(
        self,
        organization_id: uuid.UUID,
        statuses: Sequence[DeploymentStatus],
        *,
        created_since: datetime | None = None,
    ) -> dict[DeploymentStatus, int]:
        # Served by the (organization_id, status, created_at) index: no table rows read.
        if not statuses:
            return {}
        status = col(Deployment, "status")
        stmt = select(status, func.count()).where(
            col(Deployment, "organization_id") == organization_id,
            status.in_(list(statuses)),
        )
        if created_since is not None:
            stmt = stmt.where(col(Deployment, "created_at") >= created_since)
        stmt = stmt.group_by(status)
        return {DeploymentStatus(s): int(n) for s, n in (await self.session.execute(stmt)).all()}
