"""The job queue of ``windflow serve`` alone, over real deployment rows (SQLite): a
pending row is a new job, a row held by a live worker is not offered, one whose holder's
heartbeat is older than the lease (or was released) is offered as a takeover with its
attempt counted; an enqueue wakes a waiting ``take`` at once; what the worker reports
(heartbeats, dead jobs) is what the server's side lists."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from pathlib import Path

from tests.support.deploy import build_graph
from windflow_desktop.domain.enums import DeploymentStatus
from windflow_desktop.domain.models import Deployment, utcnow
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.services.deploy.embedded_jobs import EmbeddedJobs, RowJobs

COMPOSE = "services:\n  web:\n    image: localhost/busybox\n"


async def test_rows_are_the_queue(tmp_path: Path) -> None:
    backend = SqlBackend(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    await backend.open()
    try:
        g = await build_graph(backend, tmp_path / "projects")
        target = await g.add_target("here", None)  # type: ignore[arg-type]
        stack, revision = await g.stacks.create_stack(g.admin, name="Web",
                                                      compose_yaml=COMPOSE)
        reports: list[dict[str, object]] = []
        wake = asyncio.Event()
        jobs = RowJobs(backend, utcnow, reports.append, wake=wake, lease_s=5, poll_s=10)
        server = EmbeddedJobs(backend, utcnow, wake.set, lease_s=5)

        assert await jobs.take("w", block_ms=0) is None  # nothing queued

        async def add(status: DeploymentStatus, runner: str | None = None,
                      beat_age_s: float | None = None, attempt: int = 0) -> uuid.UUID:
            async with backend.unit_of_work() as uow:
                dep = await uow.deployments.add(Deployment(
                    organization_id=g.org_id, stack_id=stack.id, revision_id=revision.id,
                    target_id=target.id, project_name=f"p{uuid.uuid4().hex[:6]}",
                    variables={}, status=status, actor_id=g.admin.user_id,
                    runner=runner, attempt=attempt, revision_number=1,
                    heartbeat_at=None if beat_age_s is None
                    else utcnow() - timedelta(seconds=beat_age_s)))
                await uow.commit()
            return dep.id

        # A live holder's row is not offered; a waiting take is woken by an enqueue.
        await add(DeploymentStatus.RUNNING, "host:1:a", beat_age_s=0, attempt=1)
        waiting = asyncio.ensure_future(jobs.take("w", block_ms=5000))
        await asyncio.sleep(0.2)
        assert not waiting.done()
        fresh = await add(DeploymentStatus.PENDING)
        started = time.monotonic()
        await server.enqueue(fresh)
        job = await waiting
        assert time.monotonic() - started < 5.0  # not the 10 s poll
        assert job is not None and job.deployment_id == fresh
        assert job.deliveries == 1 and not job.reclaimed

        # Its worker claims it; then a row whose holder went silent past the lease.
        async with backend.unit_of_work() as uow:
            assert await uow.deployments.claim(fresh, "host:2:b", 0, utcnow())
            await uow.commit()
        stale = await add(DeploymentStatus.RUNNING, "host:3:c", beat_age_s=60, attempt=2)
        job = await jobs.take("w", block_ms=0)
        assert job is not None and job.deployment_id == stale
        assert job.reclaimed and job.deliveries == 3
        counts = await server.counts()
        assert (counts.queued, counts.running) == (1, 2)

        # What the worker reports, the server lists.
        await jobs.beat("host:2:b")
        await jobs.bury(job, "dead-lettered: the limit")
        for message in reports:
            server.reported(message)
        assert list(await server.workers()) == ["host:2:b"]
        dead = await server.dead_jobs()
        assert [(f["deployment"], f["reason"]) for _, f in dead] == [
            (str(stale), "dead-lettered: the limit")]
        assert await server.dead_job(dead[0][0]) == stale
        await server.drop_dead(dead[0][0])
        assert (await server.counts()).dead == 0
        server.worker_gone(":2:")
        assert await server.workers() == {}
    finally:
        await backend.close()
