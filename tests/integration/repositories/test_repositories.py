"""The SQL repositories on real SQLite and PostgreSQL: CRUD, paging, search, integrity."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from windflow_desktop.domain.enums import (
    DeploymentStage,
    DeploymentStatus,
    LogStream,
    Role,
    TargetAuth,
    TargetKind,
    TargetStatus,
)
from windflow_desktop.domain.errors import ConflictError, NotFoundError
from windflow_desktop.domain.models import (
    AuditEvent,
    Deployment,
    DeploymentLog,
    Membership,
    Organization,
    Stack,
    StackRevision,
    Target,
    TargetCapability,
    User,
)
from windflow_desktop.domain.paging import PageRequest
from windflow_desktop.repositories.sql.backend import SqlBackend

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


@dataclass
class Seed:
    org: Organization
    user: User
    target: Target
    stack: Stack
    revision: StackRevision


async def seed(backend: SqlBackend, slug: str = "acme") -> Seed:
    org = Organization(name=f"{slug.title()} Corp", slug=slug)
    user = User(username=f"alice-{slug}", email=f"alice@{slug}.example")
    target = Target(organization_id=org.id, name="local", kind=TargetKind.LOCAL)
    stack = Stack(organization_id=org.id, name="Web", slug="web")
    revision = StackRevision(stack_id=stack.id, number=1, compose_yaml="services: {}\n")
    async with backend.unit_of_work() as uow:
        await uow.organizations.add(org)
        await uow.users.add(user)
        await uow.targets.add(target)
        await uow.stacks.add(stack)
        await uow.stacks.add_revision(revision)
        await uow.commit()
    return Seed(org, user, target, stack, revision)


def deployment(s: Seed, **kw: object) -> Deployment:
    values: dict[str, object] = {
        "organization_id": s.org.id,
        "stack_id": s.stack.id,
        "revision_id": s.revision.id,
        "target_id": s.target.id,
        "project_name": "web",
    }
    values.update(kw)
    return Deployment(**values)  # type: ignore[arg-type]


# --- CRUD per aggregate ------------------------------------------------------------------


async def test_organization_crud(backend: SqlBackend) -> None:
    org = Organization(name="Acme", slug="acme", created_at=T0)
    async with backend.unit_of_work() as uow:
        await uow.organizations.add(org)
        await uow.commit()
    async with backend.unit_of_work() as uow:
        got = await uow.organizations.get(org.id)
        assert (got.name, got.slug, got.created_at) == ("Acme", "acme", T0)
        assert (await uow.organizations.get_by_slug("acme")) is got
        assert await uow.organizations.get_by_slug("nope") is None
        got.name = "Acme Inc"
        await uow.organizations.save(got)
        await uow.commit()
    async with backend.unit_of_work() as uow:
        assert (await uow.organizations.get(org.id)).name == "Acme Inc"
        assert await uow.organizations.count() == 1
        page = await uow.organizations.list(PageRequest())
        assert [o.id for o in page.items] == [org.id] and not page.has_more
        await uow.organizations.delete(org.id)
        await uow.commit()
    async with backend.unit_of_work() as uow:
        assert await uow.organizations.count() == 0
        with pytest.raises(NotFoundError):
            await uow.organizations.get(org.id)


async def test_user_crud_and_login_lookup(backend: SqlBackend) -> None:
    s = await seed(backend)
    bob = User(username="Bob", email="Bob@Example.org", full_name="Bob B", password_hash="h")
    async with backend.unit_of_work() as uow:
        await uow.users.add(bob)
        await uow.memberships.save(Membership(user_id=bob.id, organization_id=s.org.id))
        await uow.commit()
    async with backend.unit_of_work() as uow:
        assert (await uow.users.get_by_login("bob")) is not None
        found = await uow.users.get_by_login("  BOB@example.ORG ")
        assert found is not None and found.id == bob.id
        assert await uow.users.get_by_login("carol") is None
        found.last_login = T0
        found.is_active = False
        await uow.users.save(found)
        await uow.commit()
    async with backend.unit_of_work() as uow:
        got = await uow.users.get(bob.id)
        assert (got.last_login, got.is_active, got.full_name) == (T0, False, "Bob B")
        assert await uow.users.count() == 2
        members = await uow.users.list(PageRequest(), organization_id=s.org.id)
        assert [u.id for u in members.items] == [bob.id]
        everyone = await uow.users.list(PageRequest())
        assert {u.id for u in everyone.items} == {bob.id, s.user.id}
        await uow.users.delete(bob.id)
        await uow.commit()
    async with backend.unit_of_work() as uow:
        with pytest.raises(NotFoundError):
            await uow.users.get(bob.id)
        # the membership went with the user (ON DELETE CASCADE)
        assert await uow.memberships.get(bob.id, s.org.id) is None


async def test_membership_crud(backend: SqlBackend) -> None:
    s = await seed(backend)
    other = Organization(name="Other", slug="other")
    async with backend.unit_of_work() as uow:
        await uow.organizations.add(other)
        await uow.memberships.save(Membership(s.user.id, s.org.id, Role.VIEWER))
        await uow.memberships.save(Membership(s.user.id, other.id, Role.OWNER))
        await uow.commit()
    async with backend.unit_of_work() as uow:
        m = await uow.memberships.get(s.user.id, s.org.id)
        assert m is not None and m.role is Role.VIEWER
        m.role = Role.ADMIN
        await uow.memberships.save(m)
        await uow.commit()
    async with backend.unit_of_work() as uow:
        m = await uow.memberships.get(s.user.id, s.org.id)
        assert m is not None and m.role is Role.ADMIN
        mine = await uow.memberships.for_user(s.user.id)
        assert {(x.organization_id, x.role) for x in mine} == {
            (s.org.id, Role.ADMIN),
            (other.id, Role.OWNER),
        }
        page = await uow.memberships.for_organization(other.id, PageRequest())
        assert [(x.user_id, x.role) for x in page.items] == [(s.user.id, Role.OWNER)]
        await uow.memberships.delete(s.user.id, other.id)
        await uow.commit()
    async with backend.unit_of_work() as uow:
        assert await uow.memberships.get(s.user.id, other.id) is None
        assert len(await uow.memberships.for_user(s.user.id)) == 1


async def test_target_crud_and_capabilities(backend: SqlBackend) -> None:
    s = await seed(backend)
    target = Target(
        organization_id=s.org.id,
        name="edge-1",
        kind=TargetKind.SSH,
        host="10.0.0.5",
        port=2222,
        username="deploy",
        auth=TargetAuth.KEY,
        secret_ref="keyring:edge-1",
        tls={"verify": True, "ca": None},
        labels={"env": "prod", "zone": "eu-1"},
    )
    async with backend.unit_of_work() as uow:
        await uow.targets.add(target)
        await uow.targets.set_capabilities(
            target.id,
            [
                TargetCapability(target.id, "docker", True, "24.0.7", {"api": "1.43"}),
                TargetCapability(target.id, "compose_v1", False),
            ],
        )
        await uow.commit()
    async with backend.unit_of_work() as uow:
        got = await uow.targets.get(target.id)
        assert (got.kind, got.auth, got.port, got.status) == (
            TargetKind.SSH,
            TargetAuth.KEY,
            2222,
            TargetStatus.UNKNOWN,
        )
        assert got.labels == {"env": "prod", "zone": "eu-1"}
        assert got.tls == {"verify": True, "ca": None}
        caps = await uow.targets.capabilities(target.id)
        assert [(c.kind, c.available, c.version, c.details) for c in caps] == [
            ("compose_v1", False, "", {}),
            ("docker", True, "24.0.7", {"api": "1.43"}),
        ]
        got.status, got.last_seen = TargetStatus.ONLINE, T0
        await uow.targets.save(got)
        # a new scan replaces the previous capabilities
        await uow.targets.set_capabilities(
            target.id, [TargetCapability(target.id, "docker", True, "25.0.0")]
        )
        await uow.commit()
    async with backend.unit_of_work() as uow:
        got = await uow.targets.get(target.id)
        assert (got.status, got.last_seen) == (TargetStatus.ONLINE, T0)
        caps = await uow.targets.capabilities(target.id)
        assert [(c.kind, c.version) for c in caps] == [("docker", "25.0.0")]
        online = await uow.targets.list(s.org.id, PageRequest(), status=TargetStatus.ONLINE)
        assert [t.id for t in online.items] == [target.id]
        local = await uow.targets.list(s.org.id, PageRequest(), kind=TargetKind.LOCAL)
        assert [t.id for t in local.items] == [s.target.id]
        await uow.targets.delete(target.id)
        await uow.commit()
    async with backend.unit_of_work() as uow:
        with pytest.raises(NotFoundError):
            await uow.targets.get(target.id)
        assert await uow.targets.capabilities(target.id) == ()


async def test_stack_and_revisions(backend: SqlBackend) -> None:
    s = await seed(backend)
    async with backend.unit_of_work() as uow:
        for n in (2, 3):
            await uow.stacks.add_revision(
                StackRevision(
                    stack_id=s.stack.id,
                    number=n,
                    compose_yaml=f"# rev {n}\n",
                    variables=[{"name": "PORT", "default": "80", "secret": False}],
                    author_id=s.user.id,
                    message=f"rev {n}",
                )
            )
        stack = await uow.stacks.get(s.stack.id)
        stack.current_revision, stack.tags = 3, ["web", "prod"]
        await uow.stacks.save(stack)
        await uow.commit()
    async with backend.unit_of_work() as uow:
        stack = await uow.stacks.get(s.stack.id)
        assert (stack.current_revision, stack.tags) == (3, ["web", "prod"])
        rev = await uow.stacks.get_revision(s.stack.id, 2)
        assert (rev.compose_yaml, rev.author_id, rev.message) == ("# rev 2\n", s.user.id, "rev 2")
        assert rev.variables == [{"name": "PORT", "default": "80", "secret": False}]
        assert (await uow.stacks.get_revision_by_id(rev.id)).number == 2
        with pytest.raises(NotFoundError):
            await uow.stacks.get_revision(s.stack.id, 9)
        with pytest.raises(NotFoundError):
            await uow.stacks.get_revision_by_id(uuid.uuid4())
        first = await uow.stacks.revisions(s.stack.id, PageRequest(limit=2))
        assert [r.number for r in first.items] == [3, 2] and first.has_more
        rest = await uow.stacks.revisions(s.stack.id, PageRequest(limit=2, after=first.next_cursor))
        assert [r.number for r in rest.items] == [1] and not rest.has_more
        stack.archived_at = T0
        await uow.stacks.save(stack)
        await uow.commit()
    async with backend.unit_of_work() as uow:
        assert (await uow.stacks.list(s.org.id, PageRequest())).items == ()
        archived = await uow.stacks.list(s.org.id, PageRequest(), archived=True)
        assert [x.id for x in archived.items] == [s.stack.id]
        await uow.stacks.delete(s.stack.id)
        await uow.commit()
    async with backend.unit_of_work() as uow:
        with pytest.raises(NotFoundError):
            await uow.stacks.get(s.stack.id)
        with pytest.raises(NotFoundError):
            await uow.stacks.get_revision_by_id(rev.id)


async def test_deployment_and_logs(backend: SqlBackend) -> None:
    s = await seed(backend)
    d = deployment(s, variables={"PORT": "8080", "TOKEN": {"secret_ref": "keyring:x"}},
                   actor_id=s.user.id)
    async with backend.unit_of_work() as uow:
        await uow.deployments.add(d)
        await uow.commit()
    async with backend.unit_of_work() as uow:
        got = await uow.deployments.get(d.id)
        assert (got.status, got.stage, got.variables) == (
            DeploymentStatus.PENDING,
            None,
            {"PORT": "8080", "TOKEN": {"secret_ref": "keyring:x"}},
        )
        assert await uow.deployments.last_succeeded(s.stack.id, s.target.id) is None
        got.status, got.stage = DeploymentStatus.SUCCEEDED, DeploymentStage.DONE
        got.started_at, got.finished_at = T0, T0 + timedelta(seconds=3)
        await uow.deployments.save(got)
        await uow.deployments.append_logs(
            [
                DeploymentLog(d.id, seq, f"line {seq}", LogStream.STDERR if seq % 2 else
                              LogStream.STDOUT)
                for seq in range(1, 6)
            ]
        )
        await uow.commit()
    async with backend.unit_of_work() as uow:
        got = await uow.deployments.get(d.id)
        assert (got.status, got.stage, got.finished_at) == (
            DeploymentStatus.SUCCEEDED,
            DeploymentStage.DONE,
            T0 + timedelta(seconds=3),
        )
        last = await uow.deployments.last_succeeded(s.stack.id, s.target.id)
        assert last is not None and last.id == d.id
        assert await uow.deployments.last_log_seq(d.id) == 5
        assert await uow.deployments.last_log_seq(uuid.uuid4()) == 0
        tail = await uow.deployments.logs(d.id, after_seq=2, limit=2)
        assert [(x.seq, x.line, x.stream) for x in tail] == [
            (3, "line 3", LogStream.STDERR),
            (4, "line 4", LogStream.STDOUT),
        ]
        with pytest.raises(NotFoundError):
            await uow.deployments.get(uuid.uuid4())


async def test_audit_events(backend: SqlBackend) -> None:
    s = await seed(backend)
    events = [
        AuditEvent("target.created", "target", str(s.target.id), s.org.id, s.user.id,
                   {"name": "local"}, ts=T0),
        AuditEvent("stack.revised", "stack", str(s.stack.id), s.org.id, s.user.id,
                   {"number": 2}, ts=T0 + timedelta(minutes=1)),
        AuditEvent("stack_x.revised", "stack", "x", s.org.id, None, ts=T0 + timedelta(minutes=2)),
        AuditEvent("system.started", "system", "-", None, None, ts=T0 + timedelta(minutes=3)),
    ]
    async with backend.unit_of_work() as uow:
        for e in events:
            await uow.audit.add(e)
        await uow.commit()
    async with backend.unit_of_work() as uow:
        org_page = await uow.audit.list(s.org.id, PageRequest())
        assert [e.type for e in org_page.items] == [
            "stack_x.revised", "stack.revised", "target.created"
        ]
        assert org_page.items[-1].data == {"name": "local"}
        everything = await uow.audit.list(None, PageRequest())
        assert len(everything.items) == 4
        # the prefix is literal: "stack." does not match "stack_x."
        stacks = await uow.audit.list(s.org.id, PageRequest(), type_prefix="stack.")
        assert [e.type for e in stacks.items] == ["stack.revised"]
        by_actor = await uow.audit.list(s.org.id, PageRequest(), actor_id=s.user.id)
        assert len(by_actor.items) == 2
        by_agg = await uow.audit.list(s.org.id, PageRequest(), aggregate_id=str(s.target.id))
        assert [e.type for e in by_agg.items] == ["target.created"]
        since = await uow.audit.list(s.org.id, PageRequest(), since=T0 + timedelta(minutes=1))
        assert len(since.items) == 2


# --- paging, filters, search ------------------------------------------------------------


async def test_deployment_pages_walk_every_row_once_newest_first(backend: SqlBackend) -> None:
    s = await seed(backend)
    statuses = list(DeploymentStatus)
    # 70 rows on 7 distinct timestamps: ties on created_at are broken by id.
    rows = [
        deployment(s, project_name=f"p{i}", status=statuses[i % len(statuses)],
                   created_at=T0 + timedelta(seconds=i // 10))
        for i in range(70)
    ]
    async with backend.unit_of_work() as uow:
        for d in rows:
            await uow.deployments.add(d)
        await uow.commit()

    async def walk(limit: int, **filters: object) -> list[uuid.UUID]:
        seen: list[uuid.UUID] = []
        cursor = None
        async with backend.unit_of_work() as uow:
            while True:
                page = await uow.deployments.list(
                    s.org.id, PageRequest(limit=limit, after=cursor), **filters  # type: ignore[arg-type]
                )
                assert len(page.items) <= limit
                seen.extend(d.id for d in page.items)
                if not page.has_more:
                    return seen
                cursor = page.next_cursor

    newest_first = [d.id for d in sorted(rows, key=lambda d: (d.created_at, d.id), reverse=True)]
    for limit in (1, 7, 10, 69, 70, 100):
        assert await walk(limit) == newest_first, f"limit {limit}"
    wanted = [DeploymentStatus.FAILED, DeploymentStatus.ROLLED_BACK]
    filtered = [d for d in newest_first if next(r for r in rows if r.id == d).status in wanted]
    assert len(filtered) == 18
    assert await walk(4, status=wanted) == filtered
    other = deployment(s, project_name="elsewhere")
    other_org = await seed(backend, slug="other")
    async with backend.unit_of_work() as uow:
        other.organization_id = other_org.org.id
        other.stack_id, other.revision_id = other_org.stack.id, other_org.revision.id
        other.target_id = other_org.target.id
        await uow.deployments.add(other)
        await uow.commit()
    assert await walk(100) == newest_first  # another organization's rows stay out
    assert await walk(5, target_id=s.target.id, stack_id=s.stack.id) == newest_first


async def test_status_filter_returns_only_those_statuses(backend: SqlBackend) -> None:
    s = await seed(backend)
    async with backend.unit_of_work() as uow:
        for i, status in enumerate(DeploymentStatus):
            await uow.deployments.add(deployment(s, status=status,
                                                 created_at=T0 + timedelta(seconds=i)))
        await uow.commit()
    async with backend.unit_of_work() as uow:
        page = await uow.deployments.list(s.org.id, PageRequest(),
                                          status=[DeploymentStatus.RUNNING])
        assert [d.status for d in page.items] == [DeploymentStatus.RUNNING]
        page = await uow.deployments.list(s.org.id, PageRequest(), status=[])
        assert len(page.items) == len(DeploymentStatus)


async def test_search_is_case_insensitive_and_wildcards_are_literal(backend: SqlBackend) -> None:
    s = await seed(backend)
    names = ["Web_Server", "webXserver", "WEB%prod", "web-prod", "db", "back\\slash"]
    async with backend.unit_of_work() as uow:
        for name in names:
            await uow.targets.add(Target(organization_id=s.org.id, name=name))
        await uow.stacks.add(Stack(organization_id=s.org.id, name="Mail_Relay", slug="mail"))
        await uow.deployments.add(deployment(s, project_name="Shop_Front"))
        await uow.commit()

    async def targets(search: str) -> set[str]:
        async with backend.unit_of_work() as uow:
            page = await uow.targets.list(s.org.id, PageRequest(search=search))
            return {t.name for t in page.items}

    assert await targets("WEB") == {"Web_Server", "webXserver", "WEB%prod", "web-prod"}
    assert await targets("web_") == {"Web_Server"}
    assert await targets("_") == {"Web_Server"}
    assert await targets("%") == {"WEB%prod"}
    assert await targets("b%P") == {"WEB%prod"}
    assert await targets("\\") == {"back\\slash"}
    assert await targets("zzz") == set()
    async with backend.unit_of_work() as uow:
        assert [o.slug for o in (await uow.organizations.list(PageRequest(search="acme C"))).items
                ] == ["acme"]
        stacks = await uow.stacks.list(s.org.id, PageRequest(search="l_r"))
        assert [x.name for x in stacks.items] == ["Mail_Relay"]
        assert (await uow.stacks.list(s.org.id, PageRequest(search="lxr"))).items == ()
        deps = await uow.deployments.list(s.org.id, PageRequest(search="SHOP_"))
        assert [d.project_name for d in deps.items] == ["Shop_Front"]
        users = await uow.users.list(PageRequest(search="ALICE@"))
        assert [u.id for u in users.items] == [s.user.id]


# --- types, integrity, transactions -----------------------------------------------------


async def test_timestamps_come_back_aware_utc(backend: SqlBackend) -> None:
    plus2 = timezone(timedelta(hours=2))
    local = datetime(2026, 3, 1, 14, 0, 0, 500, tzinfo=plus2)
    org = Organization(name="Tz", slug="tz", created_at=local)
    async with backend.unit_of_work() as uow:
        await uow.organizations.add(org)
        await uow.audit.add(AuditEvent("x.done", "x", "1", org.id))
        await uow.commit()
    async with backend.unit_of_work() as uow:
        got = await uow.organizations.get(org.id)
        assert got.created_at.utcoffset() == timedelta(0)
        assert got.created_at == local  # same instant
        assert got.created_at.hour == 12 and got.created_at.microsecond == 500
        (event,) = (await uow.audit.list(org.id, PageRequest())).items
        assert event.ts.tzinfo is not None and event.ts.utcoffset() == timedelta(0)
    async with backend.unit_of_work() as uow:
        with pytest.raises(StatementError, match="naive"):
            await uow.organizations.add(Organization(name="N", slug="n",
                                                     created_at=datetime(2026, 1, 1)))


async def test_foreign_keys_are_enforced(backend: SqlBackend) -> None:
    s = await seed(backend)
    async with backend.unit_of_work() as uow:
        with pytest.raises(ConflictError):
            await uow.targets.add(Target(organization_id=uuid.uuid4(), name="orphan"))
    async with backend.unit_of_work() as uow:
        with pytest.raises(ConflictError):
            await uow.deployments.add(deployment(s, target_id=uuid.uuid4()))
    async with backend.unit_of_work() as uow:
        with pytest.raises(ConflictError):
            await uow.deployments.append_logs([DeploymentLog(uuid.uuid4(), 1, "orphan")])
    async with backend.unit_of_work() as uow:
        assert (await uow.targets.list(s.org.id, PageRequest())).items[0].id == s.target.id
        assert len((await uow.targets.list(s.org.id, PageRequest())).items) == 1


async def test_deleting_an_organization_cascades(backend: SqlBackend) -> None:
    s = await seed(backend)
    keep = await seed(backend, slug="keep")
    d = deployment(s)
    async with backend.unit_of_work() as uow:
        await uow.memberships.save(Membership(s.user.id, s.org.id, Role.OWNER))
        await uow.targets.set_capabilities(s.target.id,
                                           [TargetCapability(s.target.id, "docker", True)])
        await uow.deployments.add(d)
        await uow.deployments.append_logs([DeploymentLog(d.id, 1, "hello")])
        await uow.audit.add(AuditEvent("org.created", "org", str(s.org.id), s.org.id))
        await uow.commit()
    async with backend.unit_of_work() as uow:
        await uow.organizations.delete(s.org.id)
        await uow.commit()
    async with backend.unit_of_work() as uow:
        for get, obj_id in (
            (uow.targets.get, s.target.id),
            (uow.stacks.get, s.stack.id),
            (uow.stacks.get_revision_by_id, s.revision.id),
            (uow.deployments.get, d.id),
        ):
            with pytest.raises(NotFoundError):
                await get(obj_id)
        assert await uow.memberships.get(s.user.id, s.org.id) is None
        assert await uow.targets.capabilities(s.target.id) == ()
        assert await uow.deployments.logs(d.id) == ()
        assert (await uow.audit.list(s.org.id, PageRequest())).items == ()
        assert (await uow.users.get(s.user.id)).id == s.user.id  # users are not owned
        assert (await uow.targets.get(keep.target.id)).id == keep.target.id


async def test_deleting_a_stack_with_deployments_cascades(backend: SqlBackend) -> None:
    s = await seed(backend)
    d = deployment(s)
    async with backend.unit_of_work() as uow:
        await uow.deployments.add(d)
        await uow.commit()
    async with backend.unit_of_work() as uow:
        await uow.stacks.delete(s.stack.id)
        await uow.commit()
    async with backend.unit_of_work() as uow:
        with pytest.raises(NotFoundError):
            await uow.deployments.get(d.id)


async def test_unique_violation_raises_conflict(backend: SqlBackend) -> None:
    s = await seed(backend)
    async with backend.unit_of_work() as uow:
        with pytest.raises(ConflictError) as info:
            await uow.organizations.add(Organization(name="Again", slug=s.org.slug))
        assert info.value.code == "CONFLICT"
        assert "\n" not in info.value.message
    async with backend.unit_of_work() as uow:
        with pytest.raises(ConflictError):
            await uow.targets.add(Target(organization_id=s.org.id, name=s.target.name))
    # a conflict found only at commit time is mapped too
    async with backend.unit_of_work() as uow:
        uow.users.session.add(User(username=s.user.username, email="new@x.example"))
        with pytest.raises(ConflictError):
            await uow.commit()
    async with backend.unit_of_work() as uow:
        assert await uow.users.count() == 1
        assert await uow.organizations.count() == 1


async def test_unit_of_work_without_commit_rolls_back(backend: SqlBackend) -> None:
    s = await seed(backend)
    org = Organization(name="Ghost", slug="ghost")
    async with backend.unit_of_work() as uow:
        await uow.organizations.add(org)
        (await uow.targets.get(s.target.id)).name = "renamed"
        await uow.targets.save(await uow.targets.get(s.target.id))
        assert (await uow.organizations.get(org.id)).slug == "ghost"  # visible inside
    async with backend.unit_of_work() as uow:
        with pytest.raises(NotFoundError):
            await uow.organizations.get(org.id)
        assert (await uow.targets.get(s.target.id)).name == "local"
    with pytest.raises(RuntimeError):
        async with backend.unit_of_work() as uow:
            await uow.organizations.add(Organization(name="Boom", slug="boom"))
            raise RuntimeError("boom")
    async with backend.unit_of_work() as uow:
        assert await uow.organizations.get_by_slug("boom") is None
        await uow.organizations.add(Organization(name="Undo", slug="undo"))
        await uow.rollback()
        await uow.commit()
    async with backend.unit_of_work() as uow:
        assert await uow.organizations.get_by_slug("undo") is None


async def test_not_found_on_missing_ids(backend: SqlBackend) -> None:
    missing = uuid.uuid4()
    async with backend.unit_of_work() as uow:
        for repo in (uow.organizations, uow.users, uow.targets, uow.stacks, uow.deployments):
            with pytest.raises(NotFoundError) as info:
                await repo.get(missing)
            assert str(missing) in info.value.message
        with pytest.raises(NotFoundError):
            await uow.organizations.delete(missing)


async def test_sqlite_file_is_wal_with_foreign_keys(sqlite_backend: SqlBackend) -> None:
    async with sqlite_backend.engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
        assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
        assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 30000


async def test_objects_read_in_a_unit_of_work_stay_readable_after_it(backend: SqlBackend) -> None:
    # Read-only use cases leave without commit and hand the rows to the stores.
    s = await seed(backend)
    async with backend.unit_of_work() as uow:
        org = await uow.organizations.get(s.org.id)
        page = await uow.targets.list(s.org.id, PageRequest())
    assert org.slug == "acme"
    assert [t.name for t in page.items] == ["local"]
    with pytest.raises(RuntimeError):
        async with backend.unit_of_work() as uow:
            stack = await uow.stacks.get(s.stack.id)
            raise RuntimeError("the use case failed after reading")
    assert stack.slug == "web"
