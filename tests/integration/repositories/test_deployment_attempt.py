"""The deployment row is the state machine: a worker claims a deployment by compare-and-set
on its ``attempt`` (the fencing token), and the journal refuses the writes of a run whose
attempt is no longer the current one — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from tests.env.keyring_backend import MemoryKeyring
from tests.integration.repositories.test_repositories import deployment, seed
from tests.support.auth import RecordingBus
from windflow_desktop.domain.enums import DeploymentStage, DeploymentStatus
from windflow_desktop.domain.errors import StaleAttemptError
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.deploy.core import DeploymentCore

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


async def claim(backend: SqlBackend, dep_id: object, runner: str, expected: int) -> bool:
    async with backend.unit_of_work() as uow:
        won = await uow.deployments.claim(dep_id, runner, expected, T0)  # type: ignore[arg-type]
        await uow.commit()
    return won


async def test_a_claim_is_a_compare_and_set_on_the_attempt(backend: SqlBackend) -> None:
    s = await seed(backend)
    dep = deployment(s)
    async with backend.unit_of_work() as uow:
        await uow.deployments.add(dep)
        await uow.commit()

    assert await claim(backend, dep.id, "w1:1:a", 0)
    assert not await claim(backend, dep.id, "w2:2:b", 0)  # the token moved on
    async with backend.unit_of_work() as uow:
        row = await uow.deployments.get(dep.id)
    assert (row.attempt, row.runner, row.heartbeat_at) == (1, "w1:1:a", T0)

    assert await claim(backend, dep.id, "w2:2:b", 1)  # a takeover of an expired lease
    async with backend.unit_of_work() as uow:
        row = await uow.deployments.get(dep.id)
    assert (row.attempt, row.runner) == (2, "w2:2:b")


async def test_concurrent_claims_of_one_attempt_have_one_winner(backend: SqlBackend) -> None:
    s = await seed(backend)
    dep = deployment(s)
    async with backend.unit_of_work() as uow:
        await uow.deployments.add(dep)
        await uow.commit()
    won = await asyncio.gather(*(claim(backend, dep.id, f"w{i}:1:x", 0) for i in range(6)),
                               return_exceptions=True)
    # SQLite may refuse a concurrent writer outright (locked): that is a lost claim too.
    assert [w for w in won if w is True] == [True]


async def test_a_stale_attempts_writes_are_refused(backend: SqlBackend) -> None:
    s = await seed(backend)
    dep = deployment(s, status=DeploymentStatus.PENDING)
    async with backend.unit_of_work() as uow:
        await uow.deployments.add(dep)
        await uow.commit()
    core = DeploymentCore(backend, RecordingBus(), object(),  # type: ignore[arg-type]
                          SecretStore(MemoryKeyring()))

    assert await claim(backend, dep.id, "old:1:a", 0)
    stale = await core.get(dep.id)  # the first worker's copy: attempt 1
    assert stale.attempt == 1
    await core.journal.set(stale, status=DeploymentStatus.RUNNING,
                           stage=DeploymentStage.PREFLIGHT)  # its own attempt: stored

    assert await claim(backend, dep.id, "new:2:b", 1)  # the lease expired; taken over
    with pytest.raises(StaleAttemptError):
        await core.journal.set(stale, stage=DeploymentStage.UP)
    with pytest.raises(StaleAttemptError):
        await core.journal.fail_unstarted(stale, "the old worker thinks it failed")

    row = await core.get(dep.id)
    assert (row.status, row.stage, row.error, row.attempt, row.runner) == (
        DeploymentStatus.RUNNING, DeploymentStage.PREFLIGHT, None, 2, "new:2:b")
    fresh = await core.get(dep.id)
    await core.journal.set(fresh, stage=DeploymentStage.UP)  # the new worker's write lands
    assert (await core.get(dep.id)).stage is DeploymentStage.UP
