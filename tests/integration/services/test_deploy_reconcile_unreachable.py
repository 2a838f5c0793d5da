"""Reconciling at start when the target of an unfinished deployment cannot be reached:
the deployment ends ``failed`` with a message that says so (never left "running"), the
others are still settled, and nothing is raised to the app."""

from __future__ import annotations

from pathlib import Path

from tests.support.databases import sqlite_url
from tests.support.deploy import STACK, VARIABLES, build_graph
from windflow_desktop.domain.compose import project_name
from windflow_desktop.domain.enums import DeploymentStage, DeploymentStatus
from windflow_desktop.domain.models import Deployment
from windflow_desktop.domain.paging import PageRequest
from windflow_desktop.repositories.sql.backend import SqlBackend


async def test_unreachable_target_is_settled_as_unknown(tmp_path: Path) -> None:
    backend = SqlBackend(sqlite_url(tmp_path / "w.db"))
    await backend.open()
    try:
        g = await build_graph(backend, tmp_path / "projects")
        stack, revision = await g.stacks.create_stack(
            g.admin, name="Shop", compose_yaml=STACK, variables=VARIABLES)
        running = []
        for name in ("gone-1", "gone-2"):
            target = await g.add_target(name, executor=None)  # type: ignore[arg-type]
            del g.executors.by_target[target.id]  # no way to reach it
            dep = Deployment(
                organization_id=g.org_id, stack_id=stack.id, revision_id=revision.id,
                target_id=target.id, project_name=project_name(stack.slug, stack.id, target.id),
                status=DeploymentStatus.RUNNING, stage=DeploymentStage.UP,
                actor_id=g.admin.user_id)
            async with backend.unit_of_work() as uow:
                await uow.deployments.add(dep)
                await uow.commit()
            running.append(dep.id)

        settled = await g.deployments.reconcile_unfinished()

        assert sorted(d.id for d in settled) == sorted(running)
        for dep in settled:
            assert dep.status is DeploymentStatus.FAILED
            assert dep.error is not None and "could not be reached" in dep.error
            assert "state is unknown" in dep.error
            assert dep.finished_at is not None
        finished = [e for e in g.bus.events if e.event_type == "deployment.finished"]
        assert {e.aggregate_id for e in finished} == {str(i) for i in running}
        async with backend.unit_of_work() as uow:
            logs = await uow.deployments.logs(running[0])
            audit = await uow.audit.list(g.org_id, PageRequest(),
                                         type_prefix="deployment.finished")
        assert any("could not be reached" in line.line for line in logs)
        # the audit row and the event share one id: a window showing both shows one row
        assert {str(a.id) for a in audit.items} == {e.event_id for e in finished}
        assert await g.deployments.reconcile_unfinished() == []
    finally:
        await backend.close()
