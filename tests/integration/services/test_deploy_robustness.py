"""Deployments that meet the unexpected: an exception that is no ``WindFlowError`` in one
target of a rollout, an executor that cannot be had, a failed log write, a compose error
that echoes a secret, a deploy cancelled while it commits, a refused cancel. No Docker:
the targets are fakes; the database is a real SQLite file."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from tests.support.databases import sqlite_url
from tests.support.deploy import STACK, VARIABLES, DeployGraph, build_graph
from windflow_desktop.domain.compose import project_name
from windflow_desktop.domain.deployment_flow import Action
from windflow_desktop.domain.enums import ACTIVE_DEPLOYMENT, DeploymentStage, DeploymentStatus
from windflow_desktop.domain.errors import ConflictError, DeploymentError
from windflow_desktop.domain.events import Event
from windflow_desktop.domain.models import Deployment, Stack, StackRevision
from windflow_desktop.domain.paging import PageRequest
from windflow_desktop.engine.executor import CommandResult
from windflow_desktop.engine.lines import MAX_LINE_BYTES, LineSplitter
from windflow_desktop.repositories.sql.backend import SqlBackend
from windflow_desktop.repositories.sql.deployment_repository import SqlDeploymentRepository
from windflow_desktop.services.deploy.logs import LogWriter

SECRET = "s3cr3t-Value-42"


@pytest.fixture
async def graph(tmp_path: Path) -> AsyncIterator[DeployGraph]:
    backend = SqlBackend(sqlite_url(tmp_path / "w.db"))
    await backend.open()
    try:
        yield await build_graph(backend, tmp_path / "projects")
    finally:
        await backend.close()


async def _stack(g: DeployGraph) -> tuple[Stack, StackRevision]:
    return await g.stacks.create_stack(g.admin, name="Shop", compose_yaml=STACK,
                                       variables=VARIABLES)


async def _targets(g: DeployGraph, *names: str) -> list[uuid.UUID]:
    ids = []
    for name in names:
        target = await g.add_target(name, executor=None)  # type: ignore[arg-type]
        del g.executors.by_target[target.id]  # unreachable unless a test says otherwise
        ids.append(target.id)
    return ids


async def _running_deployment(g: DeployGraph) -> Deployment:
    """A deployment row left running, on an unreachable target."""
    stack, revision = await _stack(g)
    [target] = await _targets(g, "t")
    dep = Deployment(organization_id=g.org_id, stack_id=stack.id, revision_id=revision.id,
                     target_id=target, project_name=project_name(stack.slug, stack.id, target),
                     status=DeploymentStatus.RUNNING, actor_id=g.admin.user_id)
    async with g.backend.unit_of_work() as uow:
        await uow.deployments.add(dep)
        await uow.commit()
    return dep


def _log_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("deployment-log-")
            and not t.done()]


class EchoingExecutor:
    """A target whose every command fails with an error that echoes ``text``."""

    label = "echo"

    def __init__(self, text: str) -> None:
        self.text = text

    async def run(self, command: Any, **kwargs: Any) -> CommandResult:
        raise DeploymentError(f"docker compose config failed: invalid value {self.text!r}")

    async def close(self) -> None:
        pass


async def _statuses(g: DeployGraph, ids: Sequence[uuid.UUID]) -> list[Deployment]:
    async with g.backend.unit_of_work() as uow:
        return [await uow.deployments.get(i) for i in ids]


# -- 1. an unexpected exception in one target -----------------------------------------------


async def test_unexpected_error_in_staged_rollout_settles_every_deployment(
        graph: DeployGraph) -> None:
    g = graph
    stack, _ = await _stack(g)
    first, second, third = await _targets(g, "t1", "t2", "t3")
    g.executors.raises[first] = RuntimeError("pool bug")

    rollout = await g.deployments.deploy(
        g.admin, stack.id, [first, second, third],
        variables={"GREETING": "hi", "WEB_PORT": "8080"}, parallel=1, stop_on_failure=True)
    ended = await asyncio.wait_for(rollout.wait(), 20)

    assert [d.status for d in ended] == [DeploymentStatus.FAILED, DeploymentStatus.CANCELLED,
                                         DeploymentStatus.CANCELLED]
    assert ended[0].error is not None and "RuntimeError: pool bug" in ended[0].error
    assert ended[1].error is not None and "not started" in ended[1].error
    stored = await _statuses(g, [d.id for d in ended])
    assert not [d for d in stored if d.status in ACTIVE_DEPLOYMENT]
    assert g.deployments.rollouts._cancel == {}
    # nothing is left "already being deployed"
    del g.executors.raises[first]
    again = await g.deployments.deploy(g.admin, stack.id, [first],
                                       variables={"GREETING": "hi", "WEB_PORT": "8080"})
    [redo] = await asyncio.wait_for(again.wait(), 20)
    assert redo.status is DeploymentStatus.FAILED  # unreachable, settled normally
    assert redo.error is not None and "cannot be reached" in redo.error


async def test_unexpected_errors_in_parallel_rollout_do_not_abort_the_others(
        graph: DeployGraph) -> None:
    g = graph
    stack, _ = await _stack(g)
    ids = await _targets(g, "a", "b", "c")
    g.executors.raises[ids[0]] = OperationalError("INSERT", {}, Exception("disk I/O error"))
    g.executors.raises[ids[1]] = OSError("too many open files")

    rollout = await g.deployments.deploy(
        g.admin, stack.id, ids, variables={"GREETING": "hi", "WEB_PORT": "8080"}, parallel=3)
    ended = await asyncio.wait_for(rollout.wait(), 20)

    assert [d.status for d in ended] == [DeploymentStatus.FAILED] * 3
    assert ended[0].error is not None and "OperationalError" in ended[0].error
    assert ended[1].error is not None and "OSError" in ended[1].error
    assert ended[2].error is not None and "cannot be reached" in ended[2].error
    stored = await _statuses(g, [d.id for d in ended])
    assert not [d for d in stored if d.status in ACTIVE_DEPLOYMENT]
    finished = [e for e in g.bus.events if e.event_type == "deployment.finished"]
    assert {e.aggregate_id for e in finished} == {str(d.id) for d in ended}
    assert g.deployments.rollouts._cancel == {}


# -- 2. no log writer task left behind ----------------------------------------------------------


async def test_failing_executor_leaves_no_log_writer_task(graph: DeployGraph) -> None:
    g = graph
    stack, _ = await _stack(g)
    gone, broken = await _targets(g, "gone", "broken")
    g.executors.raises[broken] = RuntimeError("boom")
    before = set(_log_tasks())

    rollout = await g.deployments.deploy(
        g.admin, stack.id, [gone, broken], variables={"GREETING": "hi", "WEB_PORT": "80"})
    ended = await asyncio.wait_for(rollout.wait(), 20)
    assert [d.status for d in ended] == [DeploymentStatus.FAILED] * 2
    # lifecycle on an unreachable target fails, and leaves no writer either
    with pytest.raises(Exception, match="cannot be reached"):
        await g.core.lifecycle(ended[0].id, Action.REMOVE)
    await asyncio.sleep(0.2)
    assert set(_log_tasks()) - before == set()


# -- 3. a failed log write is retried, not lost ------------------------------------------------


async def test_log_writer_survives_a_failed_write(graph: DeployGraph,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    g = graph
    dep = await _running_deployment(g)
    real = SqlDeploymentRepository.append_log_rows
    failures = [OperationalError("INSERT", {}, Exception("database is locked"))]

    async def flaky(self: SqlDeploymentRepository, *args: Any, **kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(SqlDeploymentRepository, "append_log_rows", flaky)
    writer = LogWriter(g.core.context, dep, 0, [])
    writer.start()
    try:
        writer.system("one")
        writer.system("two")
        for _ in range(100):  # the failed write is retried by the loop, which lives on
            await asyncio.sleep(0.05)
            if writer.count == 2:
                break
        assert not failures
        assert writer.count == 2
        assert writer._task is not None and not writer._task.done()
        writer.system("three")
    finally:
        await writer.close()
    async with g.backend.unit_of_work() as uow:
        lines = await uow.deployments.logs(dep.id)
    assert [(line.seq, line.line) for line in lines] == [(1, "one"), (2, "two"), (3, "three")]


# -- 4. secret values never stored in errors and stage details ---------------------------------


async def test_compose_error_echoing_a_secret_is_masked_everywhere(graph: DeployGraph) -> None:
    g = graph
    stack, _ = await _stack(g)
    target = await g.add_target("echo", EchoingExecutor(SECRET))  # type: ignore[arg-type]

    rollout = await g.deployments.deploy(
        g.admin, stack.id, [target.id],
        variables={"GREETING": "hi", "WEB_PORT": "8080", "ADMIN_PASSWORD": SECRET})
    [dep] = await asyncio.wait_for(rollout.wait(), 20)

    assert dep.status is DeploymentStatus.FAILED
    assert dep.error is not None and "********" in dep.error and SECRET not in dep.error
    async with g.backend.unit_of_work() as uow:
        row = await uow.deployments.get(dep.id)
        stages = await uow.deployments.stages(dep.id)
        logs = await uow.deployments.logs(dep.id)
        audit = await uow.audit.list(g.org_id, PageRequest(limit=500))
    assert row.error is not None and SECRET not in row.error
    assert stages and any("********" in s.detail for s in stages)
    assert all(SECRET not in s.detail for s in stages)
    assert all(SECRET not in line.line for line in logs)
    assert all(SECRET not in repr(a.data) for a in audit.items)
    assert all(SECRET not in repr(e.data) for e in g.bus.events)

    # settled as unreachable at start: the error text is masked too
    async with g.backend.unit_of_work() as uow:
        row = await uow.deployments.get(dep.id)
        row.status, row.stage = DeploymentStatus.RUNNING, DeploymentStage.UP
        await uow.deployments.save(row)
        await uow.commit()
    g.executors.by_target[target.id] = None  # type: ignore[assignment]
    g.executors.raises[target.id] = DeploymentError(f"ssh: bad password {SECRET}")
    settled = await g.core.reconcile(dep.id)
    assert settled.status is DeploymentStatus.FAILED
    assert settled.error is not None and SECRET not in settled.error
    assert "state is unknown" in settled.error
    assert all(SECRET not in repr(e.data) for e in g.bus.events)


# -- 5. a deploy cancelled while it commits -------------------------------------------------


class GateBus:
    """Holds the first ``deployment.created`` event (published after the commit)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.held = asyncio.Event()
        self.release = asyncio.Event()

    async def publish(self, event: Event) -> None:
        if event.event_type == "deployment.created" and not self.held.is_set():
            self.held.set()
            await self.release.wait()
        await self.inner.publish(event)


async def test_deploy_cancelled_after_its_commit_still_runs(graph: DeployGraph) -> None:
    g = graph
    stack, _ = await _stack(g)
    [target] = await _targets(g, "t")
    gate = GateBus(g.bus)
    g.deployments.ctx.bus = gate

    call = asyncio.ensure_future(g.deployments.deploy(
        g.admin, stack.id, [target], variables={"GREETING": "hi", "WEB_PORT": "8080"}))
    await asyncio.wait_for(gate.held.wait(), 10)  # committed; the caller is cancelled now
    call.cancel()
    await asyncio.sleep(0)
    gate.release.set()
    with pytest.raises(asyncio.CancelledError):
        await call

    async with g.backend.unit_of_work() as uow:
        page = await uow.deployments.list(g.org_id, PageRequest(), stack_id=stack.id)
    [dep] = page.items
    ref = dep.variables["ADMIN_PASSWORD"]
    assert isinstance(ref, dict)
    assert await g.secrets.aget(ref["secret_ref"])  # the committed row keeps its secret
    for _ in range(200):  # and its pipeline runs (the target cannot be reached)
        [dep] = await _statuses(g, [dep.id])
        if dep.status not in ACTIVE_DEPLOYMENT:
            break
        await asyncio.sleep(0.05)
    assert dep.status is DeploymentStatus.FAILED
    assert dep.error is not None and "cannot be reached" in dep.error


async def test_deploy_refused_at_commit_deletes_its_secrets(graph: DeployGraph,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    g = graph
    stack, _ = await _stack(g)
    [target] = await _targets(g, "t")
    written: list[str] = []
    real_set = g.secrets.aset

    async def record(name: str, value: str) -> None:
        written.append(name)
        await real_set(name, value)

    monkeypatch.setattr(g.secrets, "aset", record)

    async def refuse(*args: Any, **kwargs: Any) -> None:
        raise ConflictError("taken meanwhile")

    monkeypatch.setattr(SqlDeploymentRepository, "add", refuse)
    with pytest.raises(ConflictError):
        await g.deployments.deploy(g.admin, stack.id, [target],
                                   variables={"GREETING": "hi", "WEB_PORT": "8080"})
    assert written
    assert [await g.secrets.aget(name) for name in written] == [None] * len(written)


# -- 6. a refused cancel is not audited ------------------------------------------------------


async def test_refused_cancel_is_not_audited(graph: DeployGraph) -> None:
    g = graph
    dep = await _running_deployment(g)

    with pytest.raises(ConflictError, match="not running in this window"):
        await g.deployments.cancel(g.admin, dep.id)

    async with g.backend.unit_of_work() as uow:
        audit = await uow.audit.list(g.org_id, PageRequest(),
                                     type_prefix="deployment.cancel_requested")
    assert not audit.items
    assert "deployment.cancel_requested" not in g.bus.types()


async def test_deploy_writes_keyring_secrets_outside_any_unit_of_work(
        graph: DeployGraph, monkeypatch: pytest.MonkeyPatch) -> None:
    """The keyring may prompt: no transaction (and no SQLite write lock) is open then."""
    from windflow_desktop.repositories.sql.backend import SqlUnitOfWork

    g = graph
    stack, _ = await _stack(g)
    [target] = await _targets(g, "t")
    open_units = [0]
    seen: list[int] = []
    enter, leave = SqlUnitOfWork.__aenter__, SqlUnitOfWork.__aexit__

    async def counting_enter(self: SqlUnitOfWork) -> Any:
        open_units[0] += 1
        return await enter(self)

    async def counting_exit(self: SqlUnitOfWork, *exc: Any) -> Any:
        open_units[0] -= 1
        return await leave(self, *exc)

    real_set = g.secrets.aset

    async def record(name: str, value: str) -> None:
        seen.append(open_units[0])
        await real_set(name, value)

    monkeypatch.setattr(SqlUnitOfWork, "__aenter__", counting_enter)
    monkeypatch.setattr(SqlUnitOfWork, "__aexit__", counting_exit)
    monkeypatch.setattr(g.secrets, "aset", record)
    rollout = await g.deployments.deploy(g.admin, stack.id, [target],
                                         variables={"GREETING": "hi", "WEB_PORT": "8080"})
    await asyncio.wait_for(rollout.wait(), 20)
    assert seen == [0]


# -- 5. the flow table is asked again under the project's lock ---------------------------------


async def test_stop_refused_when_a_newer_deployment_lands_before_the_lock(
    graph: DeployGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service asks the flow table, then the pipeline waits for the project's lock
    (a deploy of the same project may hold it): a newer deployment that took the
    project over meanwhile makes the asked one superseded, and stopping it would stop
    the newer one's containers. The pipeline asks again under the lock."""
    g = graph
    stack, revision = await _stack(g)
    [target] = await _targets(g, "t")
    name = project_name(stack.slug, stack.id, target)

    def row(minutes: int) -> Deployment:
        return Deployment(organization_id=g.org_id, stack_id=stack.id,
                          revision_id=revision.id, target_id=target, project_name=name,
                          status=DeploymentStatus.SUCCEEDED, actor_id=g.admin.user_id,
                          created_at=datetime(2026, 1, 1, 12, minutes, tzinfo=UTC))

    older = row(0)
    async with g.backend.unit_of_work() as uow:
        await uow.deployments.add(older)
        await uow.commit()
    real_load = g.core.journal.load

    async def load_then_newer_lands(deployment_id: uuid.UUID) -> Any:
        loaded = await real_load(deployment_id)
        async with g.backend.unit_of_work() as uow:  # a deploy that ran meanwhile
            await uow.deployments.add(row(5))
            await uow.commit()
        return loaded

    monkeypatch.setattr(g.core.journal, "load", load_then_newer_lands)
    with pytest.raises(ConflictError, match="newer deployment"):
        await g.deployments.stop(g.admin, older.id)
    (stored,) = await _statuses(g, [older.id])
    assert stored.status is DeploymentStatus.SUCCEEDED


# -- 6. a secret cut by the line cap ------------------------------------------------------------


async def test_secret_cut_by_the_line_cap_leaves_no_part_in_the_log(graph: DeployGraph) -> None:
    """A command's line is cut at 16 KiB as it arrives, before the log masks secrets: a
    secret that straddles the cut kept its first characters in the stored line."""
    g = graph
    dep = await _running_deployment(g)
    line = b"x" * (MAX_LINE_BYTES - 6) + SECRET.encode() + b" and the rest\n"
    [cut] = LineSplitter().feed(line)
    assert SECRET[:6] in cut  # what the splitter hands on
    writer = LogWriter(g.core.context, dep, 0, [SECRET])
    writer.start()
    writer.add("stdout", cut)
    await writer.close()
    async with g.backend.unit_of_work() as uow:
        [stored] = await uow.deployments.logs(dep.id, after_seq=0, limit=10)
    assert SECRET[:6] not in stored.line and SECRET[:4] not in stored.line
    assert stored.line.startswith("x" * 100) and "line cut at 16 KiB" in stored.line


async def test_the_journal_refuses_a_status_move_the_flow_table_does_not_know(
        graph: DeployGraph) -> None:
    """A removed deployment never runs again (a redeploy is a new one): the journal
    refuses the move and stores nothing; a move the table knows goes through."""
    dep = await _running_deployment(graph)
    journal = graph.core.journal
    await journal.set(dep, status=DeploymentStatus.SUCCEEDED)
    await journal.set(dep, status=DeploymentStatus.REMOVED)
    with pytest.raises(ConflictError, match="cannot go from removed to running"):
        await journal.set(dep, status=DeploymentStatus.RUNNING, stage=DeploymentStage.UP)
    (stored,) = await _statuses(graph, [dep.id])
    assert stored.status is DeploymentStatus.REMOVED and stored.stage is not \
        DeploymentStage.UP
