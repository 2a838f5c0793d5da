"""``DashboardService`` on SQLite and PostgreSQL: counts by status from aggregate queries,
the 24-hour window, recent deployments with names, the health list worst first, recent
activity, organization scope and permissions."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.support.auth import Clock, RecordingBus, add_member, add_org
from windflow_desktop.domain.enums import DeploymentStatus, Role, TargetStatus
from windflow_desktop.domain.errors import AuthenticationError, PermissionDeniedError
from windflow_desktop.domain.identity import Principal
from windflow_desktop.domain.models import Deployment, Membership, Stack, StackRevision, Target
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.dashboard import DashboardService
from windflow_desktop.services.stacks import StackService

COMPOSE = "services:\n  web:\n    image: localhost/busybox\n"


async def _seed(backend: SqlBackend, clock: Clock, org_id: uuid.UUID, *, tag: str
                ) -> dict[str, object]:
    """Targets 3 online, 1 offline, 2 error, 1 unknown; stacks 2 live + 1 archived;
    deployments: 2 running, 1 pending, failed/rolled back/succeeded inside and outside
    the 24 h window."""
    now = clock()
    statuses = ([TargetStatus.ONLINE] * 3 + [TargetStatus.OFFLINE] + [TargetStatus.ERROR] * 2
                + [TargetStatus.UNKNOWN])
    async with backend.unit_of_work() as uow:
        targets = [await uow.targets.add(Target(organization_id=org_id, name=f"{tag}-t{i}",
                                                status=s))
                   for i, s in enumerate(statuses)]
        stacks = []
        for i in range(3):
            stack = await uow.stacks.add(Stack(
                organization_id=org_id, name=f"{tag}-s{i}", slug=f"{tag}-s{i}",
                current_revision=1, archived_at=now if i == 2 else None))
            rev = await uow.stacks.add_revision(StackRevision(stack.id, 1, COMPOSE))
            stacks.append((stack, rev))
        plan = [
            (DeploymentStatus.RUNNING, timedelta(minutes=1)),
            (DeploymentStatus.RUNNING, timedelta(days=3)),  # running is "now", whatever age
            (DeploymentStatus.PENDING, timedelta(seconds=5)),
            (DeploymentStatus.FAILED, timedelta(hours=2)),
            (DeploymentStatus.ROLLED_BACK, timedelta(hours=23)),
            (DeploymentStatus.FAILED, timedelta(hours=25)),  # outside the window
            (DeploymentStatus.SUCCEEDED, timedelta(hours=1)),
            (DeploymentStatus.SUCCEEDED, timedelta(hours=3)),
            (DeploymentStatus.SUCCEEDED, timedelta(days=2)),
            (DeploymentStatus.STOPPED, timedelta(hours=4)),
        ]
        deployments = []
        for i, (status, age) in enumerate(plan):
            stack, rev = stacks[i % 2]
            deployments.append(await uow.deployments.add(Deployment(
                organization_id=org_id, stack_id=stack.id, revision_id=rev.id,
                target_id=targets[i % 3].id, project_name=f"{tag}-p{i}", status=status,
                created_at=now - age)))
        await uow.commit()
    return {"targets": targets, "stacks": stacks, "deployments": deployments}


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def test_summary_counts_lists_and_scope(backend: SqlBackend, clock: Clock) -> None:
    org = await add_org(backend, "Acme")
    other = await add_org(backend, "Other")
    viewer = await add_member(backend, org.id, "victor", Role.VIEWER)
    outsider = await add_member(backend, other.id, "oscar", Role.OWNER)
    owner = await add_member(backend, org.id, "olivia", Role.OWNER)
    seeded = await _seed(backend, clock, org.id, tag="a")
    await _seed(backend, clock, other.id, tag="b")  # must not leak into Acme's numbers
    ctx = ServiceContext(backend, RecordingBus(), clock=clock)
    # an audited change made through a real service shows as recent activity, by name
    await StackService(ctx).create_stack(owner, name="Fresh", compose_yaml=COMPOSE)
    service = DashboardService(ctx, recent=5, health_rows=4, activity_rows=3)

    summary = await service.summary(viewer)

    assert summary.organization_id == org.id
    t = summary.targets
    assert (t.online, t.offline, t.error, t.unknown, t.total) == (3, 1, 2, 1, 7)
    assert summary.stacks == 3  # 2 seeded + "Fresh"; the archived one does not count
    assert summary.deployments_running == 3
    assert summary.failed_24h == 2
    assert summary.succeeded_24h == 2
    recent = summary.recent_deployments
    deployments = seeded["deployments"]
    assert isinstance(deployments, list)
    by_age = sorted(deployments, key=lambda d: d.created_at, reverse=True)
    assert [r.id for r in recent] == [d.id for d in by_age[:5]]
    assert recent[0].status is DeploymentStatus.PENDING
    assert {r.stack_name for r in recent} <= {"a-s0", "a-s1"}
    assert {r.target_name for r in recent} <= {"a-t0", "a-t1", "a-t2"}
    # health: the worst first, at most 4 rows
    assert [h.status for h in summary.health] == [
        TargetStatus.ERROR, TargetStatus.ERROR, TargetStatus.OFFLINE, TargetStatus.UNKNOWN]
    assert all(h.name.startswith("a-") for h in summary.health)
    assert len(summary.activity) == 1
    assert summary.activity[0].type == "stack.created"
    assert summary.activity[0].actor_name == "olivia"

    # the other organization sees only its own
    theirs = await service.summary(outsider)
    assert theirs.targets.total == 7 and theirs.stacks == 2
    assert all(h.name.startswith("b-") for h in theirs.health)
    assert theirs.activity == ()
    with pytest.raises(PermissionDeniedError):
        await service.summary(outsider, organization_id=org.id)

    # a superuser (no membership) may read an organization's summary
    root = await add_member(backend, other.id, "root", Role.VIEWER)
    async with backend.unit_of_work() as uow:
        user = await uow.users.get(root.user_id)
        user.is_superuser = True
        await uow.users.save(user)
        await uow.commit()
    su = Principal(root.user_id, other.id, Role.VIEWER, True)
    assert (await service.summary(su, organization_id=org.id)).targets.total == 7


async def test_time_window_moves_with_the_clock(backend: SqlBackend, clock: Clock) -> None:
    org = await add_org(backend, "Acme")
    viewer = await add_member(backend, org.id, "victor", Role.VIEWER)
    await _seed(backend, clock, org.id, tag="a")
    service = DashboardService(ServiceContext(backend, RecordingBus(), clock=clock))
    clock.advance(hours=21.5)  # the window now starts 2.5 h before the seed
    later = await service.summary(viewer)
    assert later.failed_24h == 1  # the failure 2 h before the seed; the rollback aged out
    assert later.succeeded_24h == 1  # 1 h before the seed (not the 3 h one)
    assert later.deployments_running == 3  # running does not age out


async def test_lost_membership_and_empty_org(backend: SqlBackend, clock: Clock) -> None:
    org = await add_org(backend, "Empty")
    viewer = await add_member(backend, org.id, "victor", Role.VIEWER)
    service = DashboardService(ServiceContext(backend, RecordingBus(), clock=clock))
    empty = await service.summary(viewer)
    assert empty.targets.total == 0 and empty.stacks == 0
    assert empty.recent_deployments == () and empty.health == () and empty.activity == ()
    assert empty.deployments_running == empty.failed_24h == 0
    async with backend.unit_of_work() as uow:
        await uow.memberships.delete(viewer.user_id, org.id)
        await uow.commit()
    with pytest.raises((PermissionDeniedError, AuthenticationError)):
        await service.summary(viewer)
    async with backend.unit_of_work() as uow:
        await uow.memberships.save(Membership(viewer.user_id, org.id, Role.VIEWER))
        await uow.commit()
    assert (await service.summary(viewer)).stacks == 0
