"""``ActivityService`` on SQLite and PostgreSQL: organization scope, ``org:read``, keyset
pages newest first, filters, actor names, and the audit rows real services write."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.auth import add_member, add_org, build_services
from windflow_desktop.domain.activity import ActivityFilters
from windflow_desktop.domain.enums import Role
from windflow_desktop.domain.errors import PermissionDeniedError, ValidationError
from windflow_desktop.domain.identity import Principal
from windflow_desktop.domain.models import AuditEvent
from windflow_desktop.domain.paging import PageRequest
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.services.activity import ActivityService
from windflow_desktop.services.common import ServiceContext

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


async def _audit(backend: SqlBackend, rows: list[AuditEvent]) -> None:
    async with backend.unit_of_work() as uow:
        for row in rows:
            await uow.audit.add(row)
        await uow.commit()


async def _world(backend: SqlBackend) -> tuple[ActivityService, Principal, Principal, uuid.UUID]:
    org = await add_org(backend, "Acme")
    other = await add_org(backend, "Other")
    owner = await add_member(backend, org.id, "olivia", Role.OWNER)
    viewer = await add_member(backend, org.id, "victor", Role.VIEWER)
    outsider = await add_member(backend, other.id, "oscar", Role.OWNER)
    rows = []
    for i in range(25):
        kind = ("deployment", "target", "stack")[i % 3]
        rows.append(AuditEvent(
            type=f"{kind}.created", aggregate_type=kind, aggregate_id=f"{kind}-{i}",
            organization_id=org.id, actor_id=owner.user_id if i % 2 else viewer.user_id,
            data={"name": f"thing {i}"}, ts=T0 + timedelta(minutes=i),
        ))
    rows.append(AuditEvent(type="target.created", aggregate_type="target", aggregate_id="x",
                           organization_id=other.id, actor_id=outsider.user_id,
                           data={"name": "not yours"}, ts=T0 + timedelta(hours=5)))
    rows.append(AuditEvent(type="target.status_changed", aggregate_type="target",
                           aggregate_id="target-1", organization_id=org.id, actor_id=None,
                           data={"name": "thing 1", "from": "online", "to": "offline"},
                           ts=T0 + timedelta(minutes=30)))
    await _audit(backend, rows)
    service = ActivityService(ServiceContext(backend, build_services(backend).bus))
    return service, owner, viewer, other.id


async def test_pages_newest_first_in_own_org_only(backend: SqlBackend) -> None:
    service, owner, _viewer, _other = await _world(backend)
    seen = []
    after = None
    while True:
        page = await service.list(owner, PageRequest(limit=7, after=after))
        assert len(page.items) <= 7
        seen.extend(page.items)
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert len(seen) == 26
    assert len({e.id for e in seen}) == 26
    assert [e.ts for e in seen] == sorted((e.ts for e in seen), reverse=True)
    assert all(e.data.get("name") != "not yours" for e in seen)
    first = seen[0]
    assert first.type == "target.status_changed" and first.actor_id is None
    assert first.actor_name == ""
    named = {e.actor_name for e in seen if e.actor_id is not None}
    assert named == {"olivia", "victor"}


async def test_filters(backend: SqlBackend) -> None:
    service, owner, viewer, _other = await _world(backend)
    by_type = await service.list(owner, PageRequest(limit=100),
                                 ActivityFilters(type_prefix="target."))
    assert {e.type for e in by_type.items} == {"target.created", "target.status_changed"}
    assert len(by_type.items) == 9
    by_actor = await service.list(owner, PageRequest(limit=100),
                                  ActivityFilters(actor_id=viewer.user_id))
    assert len(by_actor.items) == 13 and {e.actor_name for e in by_actor.items} == {"victor"}
    by_object = await service.list(owner, PageRequest(limit=100),
                                   ActivityFilters(aggregate_id="target-1"))
    assert [e.type for e in by_object.items] == ["target.status_changed", "target.created"]
    recent = await service.list(owner, PageRequest(limit=100),
                                ActivityFilters(since=T0 + timedelta(minutes=20)))
    assert len(recent.items) == 6
    searched = await service.list(owner, PageRequest(limit=100, search="STACK-1"))
    assert {e.aggregate_id for e in searched.items} == {"stack-11", "stack-14", "stack-17"}
    both = await service.list(owner, PageRequest(limit=100),
                              ActivityFilters(type_prefix="deployment.",
                                              actor_id=owner.user_id))
    assert {e.aggregate_id for e in both.items} == {"deployment-3", "deployment-9",
                                                    "deployment-15", "deployment-21"}


async def test_permissions_and_scope(backend: SqlBackend) -> None:
    service, owner, viewer, other_org = await _world(backend)
    assert (await service.list(viewer, PageRequest(limit=5))).items  # viewers hold org:read
    with pytest.raises(PermissionDeniedError):
        await service.list(owner, PageRequest(limit=5), organization_id=other_org)
    stranger = Principal(viewer.user_id, other_org, Role.OWNER)  # a stale/forged principal
    with pytest.raises(PermissionDeniedError):
        await service.list(stranger, PageRequest(limit=5))
    homeless = Principal(viewer.user_id, None, None)
    with pytest.raises(PermissionDeniedError):
        await service.list(homeless, PageRequest(limit=5))
    with pytest.raises(ValidationError):
        ActivityFilters(aggregate_id="x" * 101)
    actors = await service.actors(owner)
    assert [a.name for a in actors] == ["olivia", "victor"]


async def test_superuser_reads_another_org(backend: SqlBackend) -> None:
    service, owner, _viewer, other_org = await _world(backend)
    async with backend.unit_of_work() as uow:
        user = await uow.users.get(owner.user_id)
        user.is_superuser = True
        await uow.users.save(user)
        await uow.commit()
    root = Principal(owner.user_id, owner.organization_id, Role.OWNER, True)
    page = await service.list(root, PageRequest(limit=10), organization_id=other_org)
    assert [e.data["name"] for e in page.items] == ["not yours"]


async def test_sees_what_real_services_record(backend: SqlBackend) -> None:
    services = build_services(backend)
    session = await services.auth.setup(username="ada", email="ada@example.test",
                                        password="correct horse battery staple",
                                        organization_name="Engines")
    await services.users.create_user(session.principal, username="bob",
                                     email="bob@example.test",
                                     password="correct horse battery staple",
                                     role=Role.OPERATOR)
    service = ActivityService(ServiceContext(backend, services.bus, clock=services.clock))
    page = await service.list(session.principal, PageRequest(limit=50))
    types = [e.type for e in page.items]
    assert "user.created" in types and "organization.created" in types
    created = next(e for e in page.items if e.type == "user.created"
                   and e.data.get("username") == "bob")
    assert created.actor_name == "ada"
