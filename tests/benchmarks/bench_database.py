"""Database benchmarks: the first page of a filtered deployment history, 100,000 rows.

``deployments_page_ms`` is the SQLite file workspace, ``pg_deployments_page_ms`` a real
PostgreSQL server started like the test fixture (null, with a reason, when it is not
installed). Each figure is the median of 30 fetches of 100 rows, newest first, with a
status filter, through ``SqlDeploymentRepository.list`` in its own unit of work.
Goal: ≤ 20 ms.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from tests.benchmarks import benchmark
from tests.env.postgres import find_pg_ctl, start_postgres
from windflow_desktop.domain.enums import DeploymentStage, DeploymentStatus, TargetKind
from windflow_desktop.domain.paging import PageRequest
from windflow_desktop.repositories.sql import tables as t
from windflow_desktop.repositories.sql.backend import SqlBackend

ROWS = 100_000
TARGETS = 50
STACKS = 20
RUNS = 30
PAGE = 100
BATCH = 10_000

# Roughly what a year of a busy team's history looks like.
STATUS_WEIGHTS = {
    DeploymentStatus.SUCCEEDED: 70,
    DeploymentStatus.FAILED: 12,
    DeploymentStatus.ROLLED_BACK: 5,
    DeploymentStatus.STOPPED: 5,
    DeploymentStatus.REMOVED: 4,
    DeploymentStatus.CANCELLED: 2,
    DeploymentStatus.RUNNING: 1,
    DeploymentStatus.PENDING: 1,
}


async def seed_history(backend: SqlBackend, owner: tuple[uuid.UUID, uuid.UUID] | None = None
                ) -> uuid.UUID:
    """A year of history in a new organization, or in ``owner``'s (organization, user)."""
    rnd = random.Random(42)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    org_id, user_id = owner or (uuid.uuid4(), uuid.uuid4())
    targets = [
        {"id": uuid.uuid4(), "organization_id": org_id, "name": f"host-{i:02d}",
         "kind": TargetKind.SSH, "host": f"10.0.0.{i + 10}", "port": 22, "username": "deploy",
         "auth": "key", "tls": {}, "labels": {"env": "prod" if i % 3 else "staging"},
         "status": "online", "created_at": now, "updated_at": now}
        for i in range(TARGETS)
    ]
    stacks: list[dict[str, Any]] = []
    revisions: list[dict[str, Any]] = []
    for i in range(STACKS):
        sid = uuid.uuid4()
        stacks.append({"id": sid, "organization_id": org_id, "name": f"Stack {i}",
                       "slug": f"stack-{i}", "description": "", "tags": ["bench"],
                       "current_revision": 3, "created_at": now, "updated_at": now})
        for n in (1, 2, 3):
            revisions.append({"id": uuid.uuid4(), "stack_id": sid, "number": n,
                              "compose_yaml": "services:\n  web:\n    image: nginx\n",
                              "variables": [], "author_id": user_id, "message": f"rev {n}",
                              "created_at": now})
    statuses, weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    async with backend.engine.begin() as conn:
        if owner is None:
            await conn.execute(t.organizations.insert(), [
                {"id": org_id, "name": "Bench", "slug": "bench", "created_at": now}])
            await conn.execute(t.users.insert(), [
                {"id": user_id, "username": "bench", "email": "bench@example.org",
                 "full_name": "", "password_hash": "", "is_active": True,
                 "is_superuser": False, "created_at": now}])
        await conn.execute(t.targets.insert(), targets)
        await conn.execute(t.stacks.insert(), stacks)
        await conn.execute(t.stack_revisions.insert(), revisions)
        batch: list[dict[str, Any]] = []
        for i in range(ROWS):
            revision = revisions[rnd.randrange(len(revisions))]
            status = rnd.choices(statuses, weights)[0]
            # ~5 minutes apart over a year, some in the same second (ties on created_at)
            created = now - timedelta(seconds=i * 315 + rnd.randrange(0, 2))
            terminal = status.is_terminal
            batch.append({
                "id": uuid.uuid4(), "organization_id": org_id,
                "stack_id": revision["stack_id"], "revision_id": revision["id"],
                "target_id": targets[rnd.randrange(TARGETS)]["id"],
                "project_name": f"stack-{i % STACKS}", "variables": {"PORT": "8080"},
                "status": status,
                "stage": DeploymentStage.DONE if terminal else DeploymentStage.PULL,
                "error": "health check failed" if status is DeploymentStatus.FAILED else None,
                "actor_id": user_id, "started_at": created,
                "finished_at": created + timedelta(seconds=40) if terminal else None,
                "created_at": created,
            })
            if len(batch) == BATCH:
                await conn.execute(t.deployments.insert(), batch)
                batch = []
        if batch:
            await conn.execute(t.deployments.insert(), batch)
    if backend.engine.dialect.name == "postgresql":
        async with backend.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE deployments"))
    else:
        async with backend.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    return org_id


async def _deep_cursor(backend: SqlBackend, org_id: uuid.UUID, rows: int) -> str | None:
    """The cursor after the first ``rows`` rows of the FAILED history (walked in big pages)."""
    cursor = None
    async with backend.unit_of_work() as uow:
        for _ in range(rows // 1000):
            page = await uow.deployments.list(org_id, PageRequest(limit=1000, after=cursor),
                                              status=[DeploymentStatus.FAILED])
            cursor = page.next_cursor
    return cursor


async def _median_ms(
    backend: SqlBackend,
    org_id: uuid.UUID,
    status: Sequence[DeploymentStatus],
    after: str | None = None,
) -> float:
    timings = []
    for run in range(RUNS + 3):
        started = time.perf_counter()
        async with backend.unit_of_work() as uow:
            page = await uow.deployments.list(org_id, PageRequest(limit=PAGE, after=after),
                                              status=status)
        elapsed = (time.perf_counter() - started) * 1000
        assert len(page.items) == PAGE and page.has_more
        assert all(d.status in status for d in page.items)
        assert [d.created_at for d in page.items] == sorted(
            (d.created_at for d in page.items), reverse=True)
        if run >= 3:  # the first runs warm the pool and the statement cache
            timings.append(elapsed)
    return round(statistics.median(timings), 2)


async def _explain(backend: SqlBackend, org_id: uuid.UUID) -> str:
    """The plan of exactly the SQL the repository sends, on one line, for the report."""
    seen: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM deployments" in statement:
            seen.append((statement, parameters))

    event.listen(backend.engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with backend.unit_of_work() as uow:
            await uow.deployments.list(org_id, PageRequest(limit=PAGE),
                                       status=[DeploymentStatus.FAILED])
    finally:
        event.remove(backend.engine.sync_engine, "before_cursor_execute", capture)
    statement, parameters = seen[-1]
    prefix = "EXPLAIN QUERY PLAN " if backend.engine.dialect.name == "sqlite" else "EXPLAIN "
    async with backend.engine.connect() as conn:
        rows = (await conn.exec_driver_sql(prefix + statement, parameters)).all()
    return " | ".join(str(r[-1]).strip() for r in rows)


async def _run(url: str, prefix: str) -> dict[str, object]:
    backend = SqlBackend(url)
    await backend.open()
    try:
        started = time.perf_counter()
        org_id = await seed_history(backend)
        seeded = time.perf_counter() - started
        one = await _median_ms(backend, org_id, [DeploymentStatus.FAILED])
        two = await _median_ms(backend, org_id,
                               [DeploymentStatus.FAILED, DeploymentStatus.ROLLED_BACK])
        deep = await _median_ms(backend, org_id, [DeploymentStatus.FAILED],
                                after=await _deep_cursor(backend, org_id, 10_000))
        plan = await _explain(backend, org_id)
    finally:
        await backend.close()
    return {
        f"{prefix}deployments_page_ms": one,
        f"{prefix}deployments_page_two_statuses_ms": two,
        f"{prefix}deployments_page_after_10000_ms": deep,
        f"{prefix}deployments_seed_s": round(seeded, 1),
        f"{prefix}deployments_page_plan": plan,
    }


@benchmark("deployments_page")
async def deployments_page() -> dict[str, object]:
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="wf-bench-") as folder:
        results.update(await _run(f"sqlite+aiosqlite:///{Path(folder) / 'workspace.db'}", ""))
    pg_ctl = find_pg_ctl()
    if pg_ctl is None:
        results["pg_deployments_page_ms"] = None
        results["pg_deployments_page_reason"] = "PostgreSQL is not installed (pg_ctl not found)"
        return results
    try:
        server = start_postgres(pg_ctl)
    except RuntimeError as exc:
        results["pg_deployments_page_ms"] = None
        results["pg_deployments_page_reason"] = str(exc).splitlines()[0]
        return results
    try:
        url = await server.create_database("bench")
        results.update(await _run(url, "pg_"))
    finally:
        server.stop()
    return results
