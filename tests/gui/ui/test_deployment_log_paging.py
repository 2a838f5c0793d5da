"""The Deployments page reads a deployment's log a page at a time: selecting it shows
the newest page only; "Load older lines" and scrolling to the top bring the page
before, in order, with the lines in view kept in view; the bar goes when the oldest
stored line is shown. Over the real DeploymentService on a SQLite workspace."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.support.deployments import (
    acme_owned_by_alice,
    offline_deployments,
    open_deployments_page,
    web_on_edge,
)
from tests.support.qt import Workspace
from windflow_desktop.domain.enums import DeploymentStage, DeploymentStatus, LogStream
from windflow_desktop.domain.models import Deployment, utcnow
from windflow_desktop.services.deployments import DeploymentService
from windflow_desktop.stores.deployments import LOG_PAGE, DeploymentsStore
from windflow_desktop.ui.views.deployments import DeploymentsPage

WAIT_MS = 15_000
LINES = 2 * LOG_PAGE + 500  # two full pages and a bit


class CountingService(DeploymentService):
    """The real service, counting the log lines it hands out."""

    served = 0

    async def log_page(self, *args: object, **kw: object):  # type: ignore[no-untyped-def]
        rows = await super().log_page(*args, **kw)  # type: ignore[arg-type]
        self.served += len(rows)
        return rows

    async def logs(self, *args: object, **kw: object):  # type: ignore[no-untyped-def]
        rows = await super().logs(*args, **kw)  # type: ignore[arg-type]
        self.served += len(rows)
        return rows


@pytest.fixture
def long_log(workspace: Workspace) -> tuple[DeploymentsStore, CountingService]:
    ws, svc = workspace, workspace.services
    org = acme_owned_by_alice(ws)

    async def fill() -> None:
        async with svc.backend.unit_of_work() as uow:
            target, stack, (rev,) = await web_on_edge(uow, org)
            dep = await uow.deployments.add(Deployment(
                organization_id=org, stack_id=stack.id, revision_id=rev.id,
                target_id=target.id, project_name="wf-web-0001",
                status=DeploymentStatus.SUCCEEDED, stage=DeploymentStage.DONE,
                created_at=utcnow() - timedelta(hours=1)))
            await uow.deployments.append_log_rows(
                dep.id, [(n, utcnow(), LogStream.STDOUT, f"line {n}")
                         for n in range(1, LINES + 1)])
            await uow.commit()

    ws.run(fill())
    store, service = offline_deployments(ws, CountingService)
    return store, service  # type: ignore[return-value]


def shown(page: DeploymentsPage) -> list[int]:
    return [int(line.split()[1]) for line in page.log.toPlainText().splitlines()]


def test_the_log_is_read_a_page_at_a_time(
        qtbot: QtBot, workspace: Workspace,
        long_log: tuple[DeploymentsStore, CountingService]) -> None:
    store, service = long_log
    page = open_deployments_page(qtbot, workspace, store, rows=1)

    page.table.selectRow(0)
    qtbot.waitUntil(lambda: page.log.line_count == LOG_PAGE, timeout=WAIT_MS)
    assert service.served == LOG_PAGE  # the newest page only, not the whole log
    assert shown(page) == list(range(LINES - LOG_PAGE + 1, LINES + 1))
    assert store.log_has_older and page.log.older_button.isVisible()

    # The button: the page before, in order, and the line in view stays in view.
    bar = page.log.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)
    in_view = page.log.cursorForPosition(page.log.viewport().rect().center()).block().text()
    qtbot.mouseClick(page.log.older_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.log.line_count == 2 * LOG_PAGE, timeout=WAIT_MS)
    assert shown(page) == list(range(LINES - 2 * LOG_PAGE + 1, LINES + 1))
    assert page.log.cursorForPosition(
        page.log.viewport().rect().center()).block().text() == in_view
    assert store.log_has_older  # a full page came: there may be more

    # Scrolling to the top: the last (short) page; then nothing older is stored.
    bar.setValue(bar.minimum())
    qtbot.waitUntil(lambda: page.log.line_count == LINES, timeout=WAIT_MS)
    assert shown(page) == list(range(1, LINES + 1))
    qtbot.waitUntil(lambda: not page.log.older_button.isVisible(), timeout=WAIT_MS)
    assert not store.log_has_older
    assert service.served == LINES  # every line read once
    workspace.run(store.shutdown())
