"""``DashboardService``: the organization at a glance, in one read-only unit of work —
targets by status, stacks, deployments running now and finished badly or well in the
last 24 hours, the most recent deployments (with their stack and target names), the
targets' health (worst first) and the most recent activity.

Counts are aggregate queries (``GROUP BY`` over indexed columns), never rows loaded and
counted here, so the summary stays cheap with thousands of targets and 100,000s of
deployments. Reading needs every read permission the summary shows (``targets:read``,
``stacks:read``, ``deployments:read``, ``org:read``); a superuser may read another
organization's summary.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from ..domain.activity import DashboardSummary, RecentDeployment, TargetCounts, TargetHealth
from ..domain.enums import (
    ACTIVE_DEPLOYMENT,
    DeploymentStatus,
    TargetStatus,
)
from ..domain.errors import NotFoundError, ValidationError
from ..domain.identity import Principal
from ..domain.models import Deployment, Target
from ..domain.paging import PageRequest
from ..domain.permissions import (
    DEPLOYMENTS_READ,
    ORG_READ,
    STACKS_READ,
    TARGETS_READ,
    PermissionChecker,
)
from ..repositories.protocols import UnitOfWork
from .activity import _actor_names, _entry
from .common import ServiceContext

RECENT_DEPLOYMENTS = 8
HEALTH_ROWS = 12
RECENT_ACTIVITY = 10
WINDOW = timedelta(hours=24)

FAILED = (DeploymentStatus.FAILED, DeploymentStatus.ROLLED_BACK)
# The health list shows the targets that need attention first.
HEALTH_ORDER = (TargetStatus.ERROR, TargetStatus.OFFLINE, TargetStatus.UNKNOWN,
                TargetStatus.ONLINE)


class DashboardService:
    """Public API: ``summary(p, *, organization_id=None) -> DashboardSummary``."""

    def __init__(self, context: ServiceContext, *, recent: int = RECENT_DEPLOYMENTS,
                 health_rows: int = HEALTH_ROWS, activity_rows: int = RECENT_ACTIVITY) -> None:
        self.ctx = context
        self.recent = recent
        self.health_rows = health_rows
        self.activity_rows = activity_rows

    async def summary(self, principal: Principal, *,
                      organization_id: uuid.UUID | None = None) -> DashboardSummary:
        checker = PermissionChecker(principal)
        for permission in (TARGETS_READ, STACKS_READ, DEPLOYMENTS_READ):
            checker.require_permission(permission, organization_id)
        # ORG_READ is re-checked against storage by ``authorized``; every role that has it
        # has the three read permissions above (viewer is the least role holding any).
        async with self.ctx.authorized(principal, ORG_READ, organization_id) as scope:
            org = scope.organization_id
            if org is None:
                raise ValidationError("choose an organization first", field="organization_id")
            uow = scope.uow
            now = self.ctx.clock()
            targets = TargetCounts.of(await uow.targets.count_by_status(org))
            stacks = await uow.stacks.count_in(org)
            running = await uow.deployments.count_by_status(org, ACTIVE_DEPLOYMENT)
            finished = await uow.deployments.count_by_status(
                org, (*FAILED, DeploymentStatus.SUCCEEDED), created_since=now - WINDOW)
            recent = await uow.deployments.list(org, PageRequest(limit=self.recent))
            health = await self._health(uow, org, targets)
            audit = await uow.audit.list(org, PageRequest(limit=self.activity_rows))
            names = await _actor_names(uow, audit.items)
            return DashboardSummary(
                organization_id=org,
                generated_at=now,
                targets=targets,
                stacks=stacks,
                deployments_running=sum(running.values()),
                failed_24h=sum(finished.get(s, 0) for s in FAILED),
                succeeded_24h=finished.get(DeploymentStatus.SUCCEEDED, 0),
                recent_deployments=await _recent(uow, recent.items),
                health=health,
                activity=tuple(_entry(row, names) for row in audit.items),
            )

    async def _health(self, uow: UnitOfWork, org: uuid.UUID,
                      counts: TargetCounts) -> tuple[TargetHealth, ...]:
        rows: list[TargetHealth] = []
        for status in HEALTH_ORDER:
            room = self.health_rows - len(rows)
            if room <= 0:
                break
            if getattr(counts, status.value) == 0:
                continue
            page = await uow.targets.list(org, PageRequest(limit=room), status=status)
            rows.extend(health_of(t) for t in page.items)
        return tuple(rows)


def health_of(target: Target) -> TargetHealth:
    return TargetHealth(target.id, target.name, target.kind, target.host, target.status,
                        target.last_seen)


async def _recent(uow: UnitOfWork, deployments: Sequence[Deployment]
                  ) -> tuple[RecentDeployment, ...]:
    stacks: dict[uuid.UUID, str] = {}
    targets: dict[uuid.UUID, str] = {}
    for dep in deployments:
        if dep.stack_id not in stacks:
            try:
                stacks[dep.stack_id] = (await uow.stacks.get(dep.stack_id)).name
            except NotFoundError:
                stacks[dep.stack_id] = ""
        if dep.target_id not in targets:
            try:
                targets[dep.target_id] = (await uow.targets.get(dep.target_id)).name
            except NotFoundError:
                targets[dep.target_id] = ""
    return tuple(
        RecentDeployment(
            id=d.id, stack_id=d.stack_id, stack_name=stacks[d.stack_id] or d.project_name,
            target_id=d.target_id, target_name=targets[d.target_id] or "(deleted target)",
            status=d.status, stage=d.stage, created_at=d.created_at,
            finished_at=d.finished_at, error=d.error,
        )
        for d in deployments
    )
