"""Alembic migrations at start, on real SQLite and PostgreSQL, and how opening fails."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, text
from sqlalchemy.engine import Connection

from tests.env.services import free_port
from windflow_desktop.domain.errors import StorageError
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.repositories.sql.database import create_engine, head_revision, migrate
from windflow_desktop.repositories.sql.tables import metadata

FIRST = "0001"


async def _version(engine: Any) -> str | None:
    async with engine.connect() as conn:
        found = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    return None if found is None else str(found)


def _aiosqlite_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if "_connection_worker_thread" in t.name}


async def _aiosqlite_threads_finished(before: set[threading.Thread]) -> None:
    """Let the aiosqlite worker threads this test started end while its loop is still
    open (``before``: those alive when it began — another test's are not this one's).

    When ``sqlite3.connect`` fails, aiosqlite queues the stop of its worker thread with a
    future nobody awaits; if the loop closes first, the thread dies with "Event loop is
    closed" and pytest reports it in the next test. Not ours to fix; wait it out here.
    """
    for thread in _aiosqlite_threads() - before:
        await asyncio.to_thread(thread.join, 5)
        assert not thread.is_alive(), f"an aiosqlite worker thread did not stop: {thread.name}"


async def test_upgrade_from_first_revision_keeps_rows(database_url: str) -> None:
    assert head_revision() != FIRST, "needs a second revision to prove an upgrade"
    engine = create_engine(database_url)
    try:
        assert await migrate(engine, FIRST) == FIRST
        assert await _version(engine) == FIRST
        org_id = uuid.uuid4()
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO organizations (id, name, slug, created_at) "
                    "VALUES (:id, :name, :slug, :created_at)"
                ).bindparams(id=org_id, name="Old", slug="old",
                             created_at=datetime(2026, 1, 1, tzinfo=UTC)),
            )
        assert await migrate(engine) == head_revision()
        assert await _version(engine) == head_revision()
    finally:
        await engine.dispose()
    backend = SqlBackend(database_url)
    await backend.open()
    try:
        async with backend.unit_of_work() as uow:
            org = await uow.organizations.get(org_id)
            assert (org.name, org.slug) == ("Old", "old")
            assert org.created_at == datetime(2026, 1, 1, tzinfo=UTC)
    finally:
        await backend.close()


async def test_opening_a_head_workspace_again_changes_nothing(database_url: str) -> None:
    first = SqlBackend(database_url)
    await first.open()
    await first.close()

    second = SqlBackend(database_url)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(second.engine.sync_engine, "before_cursor_execute", record)
    try:
        await second.open()
        assert await _version(second.engine) == head_revision()
    finally:
        await second.close()
    assert statements, "the listener saw nothing: the check would prove nothing"
    changing = [s for s in statements
                if s.lstrip().split(None, 1)[0].upper() in {"CREATE", "ALTER", "DROP", "INSERT",
                                                            "UPDATE", "DELETE"}]
    assert changing == []


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_tables_match_the_migrations(database_url: str) -> None:
    """A schema change in tables.py without a new migration makes this fail."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            diff = await conn.run_sync(_diff)
    finally:
        await engine.dispose()
    assert diff == []


async def test_the_drift_check_sees_a_missing_migration(sqlite_backend: SqlBackend) -> None:
    # The same comparison against a schema one migration behind must report a difference.
    async with sqlite_backend.engine.begin() as conn:
        await conn.execute(text("DROP INDEX ix_deployments_organization_id_status_created_at"))
    async with sqlite_backend.engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert any(d[0] == "add_index" for d in diff), diff


@pytest.mark.postgres
async def test_unreachable_postgres_raises_storage_error_quickly() -> None:
    port = free_port()  # nothing listens there
    backend = SqlBackend(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/windflow")
    started = time.monotonic()
    try:
        with pytest.raises(StorageError) as info:
            await backend.open()
    finally:
        await backend.close()
    assert time.monotonic() - started < 15  # not the driver's 60 s
    message = info.value.message
    assert "\n" not in message and f"127.0.0.1:{port}" in message, message
    assert info.value.code == "STORAGE_ERROR"


@pytest.mark.parametrize(
    "where",
    ["under-a-file", "proc"],
)
async def test_unwritable_sqlite_path_raises_storage_error(tmp_path: Path, where: str) -> None:
    if where == "under-a-file":
        (tmp_path / "plain-file").write_text("not a folder")
        path = tmp_path / "plain-file" / "workspace.db"
    else:
        path = Path("/proc/windflow-test/workspace.db")  # not writable, even for root
    threads = _aiosqlite_threads()
    backend = SqlBackend(f"sqlite+aiosqlite:///{path}")
    try:
        with pytest.raises(StorageError) as info:
            await backend.open()
    finally:
        await backend.close()
    await _aiosqlite_threads_finished(threads)
    assert "\n" not in info.value.message
    assert "workspace.db" in info.value.message and "writable" in info.value.message


async def test_downgrading_0004_keeps_the_deployments_logs_and_stages(tmp_path: Path) -> None:
    from alembic import command

    from windflow_desktop.domain.enums import LogStream, TargetAuth, TargetKind
    from windflow_desktop.domain.models import (
        Deployment,
        DeploymentStageRecord,
        Organization,
        Stack,
        StackRevision,
        Target,
    )
    from windflow_desktop.repositories.sql.database import alembic_config

    url = f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"
    backend = SqlBackend(url)
    await backend.open()  # at head
    now = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        async with backend.unit_of_work() as uow:
            org = await uow.organizations.add(Organization(name="O", slug="o"))
            stack = await uow.stacks.add(Stack(organization_id=org.id, name="S", slug="s"))
            rev = await uow.stacks.add_revision(StackRevision(
                stack_id=stack.id, number=1, compose_yaml="services: {}", variables=[]))
            target = await uow.targets.add(Target(organization_id=org.id, name="T",
                                                  kind=TargetKind.LOCAL, auth=TargetAuth.NONE))
            dep = await uow.deployments.add(Deployment(
                organization_id=org.id, stack_id=stack.id, revision_id=rev.id,
                target_id=target.id, project_name="p", runner="h:1:n", heartbeat_at=now))
            await uow.deployments.append_log_rows(dep.id, [(1, now, LogStream.STDOUT, "kept")])
            await uow.deployments.save_stage(DeploymentStageRecord(
                dep.id, 1, "up", now, now, "succeeded", ""))
            await uow.commit()
    finally:
        await backend.close()
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(alembic_config(c), "0003"))
        assert await _version(engine) == "0003"
        async with engine.connect() as conn:
            counts = [(await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar()
                      for table in ("deployments", "deployment_logs", "deployment_stages")]
        assert counts == [1, 1, 1]
    finally:
        await engine.dispose()


def test_the_file_names_tell_the_newest_revision() -> None:
    """``migrate`` knows a workspace is at head without loading alembic: by the newest
    file's ``NNNN`` — true only while each file holds revision ``NNNN`` after ``NNNN-1``."""
    from alembic.script import ScriptDirectory

    from windflow_desktop.repositories.sql.database import alembic_config, newest_revision

    script = ScriptDirectory.from_config(alembic_config())
    revisions = list(script.walk_revisions())
    for revision in revisions:
        [path] = Path(revision.path).parent.glob(f"{revision.revision}_*.py")
        assert Path(revision.path) == path
    numbers = sorted(int(r.revision) for r in revisions)
    assert numbers == list(range(1, len(numbers) + 1))
    assert newest_revision() == script.get_current_head() == head_revision()


def test_opening_a_head_workspace_does_not_load_alembic(tmp_path: Path) -> None:
    """The usual start leaves alembic (and mako: 11 MB for a server's whole life) out;
    a workspace behind head still migrates (test_upgrade_… above)."""
    import subprocess
    import sys

    url = f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"
    script = (
        "import asyncio, sys\n"
        "from windflow_desktop.repositories.sql.backend import SqlBackend\n"
        "async def main():\n"
        "    b = SqlBackend(sys.argv[1]); await b.open(); await b.close()\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako'))[:1])\n")
    first = subprocess.run([sys.executable, "-c", script, url], capture_output=True,
                           text=True, check=True)
    assert first.stdout.strip() != "[]", "a new workspace is made by alembic"
    again = subprocess.run([sys.executable, "-c", script, url], capture_output=True,
                           text=True, check=True)
    assert again.stdout.strip() == "[]", again.stdout
