"""Remembered reads (repositories/sql/read_cache.py) on the SQLite workspace: a standing is
served until a people table is written, a targets page until the targets are written; a
unit of work that began before a write ended, or while one is uncommitted, stores nothing
(what it read may be old already)."""

from __future__ import annotations

from datetime import UTC, datetime

from windflow_desktop.domain.enums import Role, TargetStatus
from windflow_desktop.domain.identity import Standing
from windflow_desktop.domain.models import Membership, Organization, Target, User
from windflow_desktop.domain.paging import Page, PageRequest
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.repositories.sql.read_cache import PEOPLE_TABLES, ReadCache


async def _seed(backend: SqlBackend) -> tuple[Organization, User]:
    org = Organization(name="Acme", slug="acme")
    user = User(username="vera", email="vera@example.org")
    async with backend.unit_of_work() as uow:
        await uow.organizations.add(org)
        await uow.users.add(user)
        await uow.memberships.save(Membership(user.id, org.id, Role.ADMIN))
        await uow.commit()
    return org, user


async def _role(backend: SqlBackend, org: Organization, user: User) -> Role | None:
    async with backend.unit_of_work() as uow:
        standing = await uow.users.standing(user.id, org.id, None)
    assert standing is not None
    return standing.role


async def _set_role(backend: SqlBackend, org: Organization, user: User, role: Role) -> None:
    async with backend.unit_of_work() as uow:
        await uow.memberships.save(Membership(user.id, org.id, role))
        await uow.commit()


async def _raw(backend: SqlBackend, statement: str) -> None:
    raw = await backend.engine.raw_connection()
    try:
        await raw.driver_connection.execute(statement)  # type: ignore[union-attr]
        await raw.driver_connection.commit()  # type: ignore[union-attr]
    finally:
        raw.close()


async def test_an_entry_is_served_until_a_people_table_is_written(
        sqlite_backend: SqlBackend) -> None:
    backend = sqlite_backend
    backend.remember_reads()
    org, user = await _seed(backend)
    assert await _role(backend, org, user) is Role.ADMIN
    # Changed behind the cache's back (a raw connection's write is not seen): the
    # remembered entry answers, which shows entries are served at all.
    await _raw(backend, "UPDATE memberships SET role = 'viewer'")
    assert await _role(backend, org, user) is Role.ADMIN
    # Through the engine: forgotten at once.
    await _set_role(backend, org, user, Role.OPERATOR)
    assert await _role(backend, org, user) is Role.OPERATOR


async def test_a_read_that_began_before_a_write_ended_is_not_kept(
        sqlite_backend: SqlBackend) -> None:
    backend = sqlite_backend
    backend.remember_reads()
    org, user = await _seed(backend)
    async with backend.unit_of_work() as early:  # begun before the change
        await _set_role(backend, org, user, Role.VIEWER)
        seen = await early.users.standing(user.id, org.id, None)
        assert seen is not None and seen.role is Role.VIEWER  # no snapshot held yet
    assert await _role(backend, org, user) is Role.VIEWER

    async with backend.unit_of_work() as writer:  # a role change not committed yet
        await writer.memberships.save(Membership(user.id, org.id, Role.OWNER))
        async with backend.unit_of_work() as reader:
            during = await reader.users.standing(user.id, org.id, None)
        assert during is not None and during.role is Role.VIEWER
        await writer.commit()
    assert await _role(backend, org, user) is Role.OWNER


async def test_without_remembering_every_read_goes_to_the_database(
        sqlite_backend: SqlBackend) -> None:
    backend = sqlite_backend
    org, user = await _seed(backend)
    assert await _role(backend, org, user) is Role.ADMIN
    await _raw(backend, "UPDATE memberships SET role = 'viewer'")
    assert await _role(backend, org, user) is Role.VIEWER


def test_a_read_across_a_forgetting_or_during_a_write_is_not_stored() -> None:
    cache: ReadCache[object, Standing] = ReadCache(PEOPLE_TABLES)
    standing = Standing(User(username="vera", email="vera@example.org"), Role.ADMIN, True)
    key = (standing.user.id, None, None)
    began = cache.start()
    cache.forget()  # a people write ended after the read began
    cache.put(key, standing, began)
    assert cache.get(key) is None

    cache._writing = 1  # a people write not committed yet
    assert cache.start() is None
    cache.put(key, standing, cache.generation)
    assert cache.get(key) is None
    cache._writing = 0

    cache.put(key, standing, cache.start())
    assert cache.get(key) is standing
    cache._writing = 1
    assert cache.get(key) is None  # nothing is served while one is in flight


async def _shown(backend: SqlBackend, org: Organization) -> Page[Target]:
    async with backend.unit_of_work() as uow:
        return await uow.targets.browse(org.id, PageRequest(limit=20))


async def test_a_targets_page_is_served_until_the_targets_are_written(
        sqlite_backend: SqlBackend) -> None:
    backend = sqlite_backend
    backend.remember_reads()
    org, _user = await _seed(backend)
    edge = Target(org.id, "edge", status=TargetStatus.ONLINE)
    async with backend.unit_of_work() as uow:
        await uow.targets.add(edge)
        await uow.commit()
    first = await _shown(backend, org)
    assert [t.name for t in first.items] == ["edge"]
    # Behind the cache's back: the remembered page answers (so pages are served at all),
    # while ``list`` (what the services change targets from) always reads.
    await _raw(backend, "UPDATE targets SET name = 'renamed'")
    assert await _shown(backend, org) is first
    async with backend.unit_of_work() as uow:
        assert [t.name for t in (await uow.targets.list(org.id, PageRequest())).items] == [
            "renamed"]
    # A write to another table keeps the page; a health round's write to the target
    # (only ``last_seen`` moves) forgets it.
    await _set_role(backend, org, _user, Role.VIEWER)
    assert await _shown(backend, org) is first
    async with backend.unit_of_work() as uow:
        target = await uow.targets.get(edge.id)
        target.last_seen = datetime(2026, 12, 5, tzinfo=UTC)
        await uow.targets.save(target)
        await uow.commit()
    again = await _shown(backend, org)
    assert again is not first
    assert [(t.name, t.last_seen) for t in again.items] == [
        ("renamed", datetime(2026, 12, 5, tzinfo=UTC))]
    # Filters and pages are remembered apart.
    async with backend.unit_of_work() as uow:
        offline = await uow.targets.browse(org.id, PageRequest(limit=20),
                                           status=TargetStatus.OFFLINE)
    assert list(offline.items) == []


async def test_without_remembering_a_targets_page_is_read_each_time(
        sqlite_backend: SqlBackend) -> None:
    backend = sqlite_backend
    org, _user = await _seed(backend)
    async with backend.unit_of_work() as uow:
        await uow.targets.add(Target(org.id, "edge"))
        await uow.commit()
    assert [t.name for t in (await _shown(backend, org)).items] == ["edge"]
    await _raw(backend, "UPDATE targets SET name = 'renamed'")
    assert [t.name for t in (await _shown(backend, org)).items] == ["renamed"]
