"""The Deployments page over the real DeploymentService (SQLite): the table loads keyset
pages as it scrolls (canFetchMore/fetchMore), live events change rows without a reset,
the log follows live events, fills a gap from storage, and stays quick with 100,000
lines; the model passes qtmodeltester."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from tests.support.deployments import (
    acme_owned_by_alice,
    offline_deployments,
    open_deployments_page,
    web_on_edge,
)
from tests.support.qt import Workspace
from windflow_desktop.domain.enums import DeploymentStage, DeploymentStatus, LogStream
from windflow_desktop.domain.events import Event
from windflow_desktop.domain.models import Deployment, utcnow
from windflow_desktop.stores.deployments import DeploymentsStore

WAIT_MS = 15_000
ROWS = 450


@pytest.fixture
def filled(workspace: Workspace) -> tuple[DeploymentsStore, list[Deployment]]:
    ws, svc = workspace, workspace.services
    org = acme_owned_by_alice(ws)
    deps: list[Deployment] = []

    async def fill() -> None:
        async with svc.backend.unit_of_work() as uow:
            target, stack, (rev,) = await web_on_edge(uow, org)
            start = utcnow() - timedelta(hours=10)
            for i in range(ROWS):
                deps.append(await uow.deployments.add(Deployment(
                    organization_id=org, stack_id=stack.id, revision_id=rev.id,
                    target_id=target.id, project_name=f"wf-web-{i:04d}",
                    status=DeploymentStatus.SUCCEEDED, stage=DeploymentStage.DONE,
                    created_at=start + timedelta(seconds=i))))
            await uow.deployments.append_log_rows(
                deps[-1].id, [(n, utcnow(), LogStream.STDOUT, f"line {n}")
                              for n in range(1, 1001)])
            await uow.commit()

    ws.run(fill())
    store, _ = offline_deployments(ws, page_size=100)
    deps.reverse()  # newest first, as listed
    return store, deps


def test_lazy_pages_live_rows_and_log(qtbot: QtBot, workspace: Workspace,
                                      filled: tuple[DeploymentsStore, list[Deployment]]) -> None:
    store, deps = filled
    page = open_deployments_page(qtbot, workspace, store, rows=100)
    assert page.model.canFetchMore(page.model.index(-1, -1).parent())
    page.table.scrollToBottom()  # the view asks for more as it reaches the end
    qtbot.waitUntil(lambda: page.model.rowCount() >= 200, timeout=WAIT_MS)
    while store.has_more:
        page.model.fetchMore(page.model.index(-1, -1).parent())
        qtbot.waitUntil(lambda: "fetch_more" not in store._actions, timeout=WAIT_MS)
    assert page.model.rowCount() == ROWS
    assert [d.id for d in page.model.rows()] == [d.id for d in deps]
    ModelTester(None).check(page.model)  # type: ignore[arg-type]

    # select the newest: its 1,000 stored lines load
    page.table.selectRow(0)
    qtbot.waitUntil(lambda: page.log.line_count == 1000, timeout=WAIT_MS)

    # live: a stage change updates one row in place (no reset), log lines append
    resets: list[int] = []
    changed: list[int] = []
    page.model.modelReset.connect(lambda: resets.append(1))
    page.model.dataChanged.connect(lambda a, b: changed.append(a.row()))
    org = str(deps[0].organization_id)
    newest = deps[0]
    store.apply_events([
        Event("deployment.stage_changed", "deployment", str(newest.id),
              {"status": "running", "stage": "health"}, organization_id=org),
        Event("deployment.log", "deployment", str(newest.id),
              {"lines": [[1001, utcnow().isoformat(), "stdout", "live one"],
                         [1002, utcnow().isoformat(), "stderr", "live two"]]},
              organization_id=org),
    ])
    assert resets == [] and changed == [0]
    assert page.model.row(0).status is DeploymentStatus.RUNNING
    assert page.log.line_count == 1002
    assert page.log.toPlainText().endswith("live one\nlive two")

    # a gap (1003..1005 never seen live) is read from storage
    async def store_more() -> None:
        async with workspace.services.backend.unit_of_work() as uow:
            await uow.deployments.append_log_rows(newest.id, [
                (n, utcnow(), LogStream.STDOUT, f"stored {n}") for n in range(1001, 1007)])
            await uow.commit()

    workspace.run(store_more())
    store.apply_events([Event("deployment.log", "deployment", str(newest.id),
                              {"lines": [[1006, utcnow().isoformat(), "stdout", "stored 1006"]]},
                              organization_id=org)])
    qtbot.waitUntil(lambda: page.log.line_count == 1006, timeout=WAIT_MS)
    assert "stored 1005" in page.log.toPlainText()

    # 100,000 lines in live batches stay quick (one edit per batch)
    started = time.perf_counter()
    seq = 1006
    for _ in range(20):
        batch = [[seq + k + 1, utcnow().isoformat(), "stdout", f"bulk line {seq + k + 1}"]
                 for k in range(5000)]
        seq += 5000
        store.apply_events([Event("deployment.log", "deployment", str(newest.id),
                                  {"lines": batch}, organization_id=org)])
    elapsed = time.perf_counter() - started
    assert page.log.line_count == 101_006
    assert elapsed < 10, f"100k lines took {elapsed:.1f} s"
    bar = page.log.verticalScrollBar()
    assert bar.value() == bar.maximum()  # it followed
    workspace.run(store.shutdown())
