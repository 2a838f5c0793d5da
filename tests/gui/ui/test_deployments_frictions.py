"""The Deployments page's small frictions, through the widgets over the real service
(SQLite): the Revision column, lifecycle steps as a history below the six stage pills
(nothing overflows a 1,180 px window), and the Remove question (named, Cancel first,
non-blocking)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from tests.support.auth import PASSWORD
from tests.support.deployments import acme_owned_by_alice, offline_deployments, web_on_edge
from tests.support.qt import Workspace
from windflow_desktop.domain.enums import DeploymentStage, DeploymentStatus
from windflow_desktop.domain.models import (
    Deployment,
    DeploymentStageRecord,
    utcnow,
)
from windflow_desktop.ui.views.deployments import DeploymentsPage

WAIT_MS = 15_000
REMOVE_BUTTON = "Remove project and its containers"
LIFECYCLE = ("watch", "stop", "start", "stop", "start", "remove")


@pytest.fixture
def page(qtbot: QtBot, workspace: Workspace) -> DeploymentsPage:
    """Two deployments of "Web" (revisions 1 and 2); the newer went through a watch and
    stop/start/stop/start/remove."""
    ws, svc = workspace, workspace.services
    org = acme_owned_by_alice(ws)

    async def fill() -> None:
        async with svc.backend.unit_of_work() as uow:
            target, stack, revs = await web_on_edge(uow, org, revisions=2)
            start = utcnow() - timedelta(hours=1)
            for i, rev in enumerate(revs):
                dep = await uow.deployments.add(Deployment(
                    organization_id=org, stack_id=stack.id, revision_id=rev.id,
                    target_id=target.id, project_name=f"wf-web-{i}",
                    status=DeploymentStatus.SUCCEEDED, stage=DeploymentStage.DONE,
                    created_at=start + timedelta(minutes=i)))
            seq = 0
            for seq, stage in enumerate(
                    ("preflight", "validate", "pull", "up", "health", "done", *LIFECYCLE)):
                await uow.deployments.save_stage(DeploymentStageRecord(
                    dep.id, seq, stage, outcome="stopped" if stage == "watch" else "succeeded",
                    finished_at=utcnow()))
            await uow.commit()

    ws.run(fill())
    store, _ = offline_deployments(ws)
    widget = DeploymentsPage(store)
    qtbot.addWidget(widget)
    widget.resize(1180, 760)
    widget.show()
    ws.run(ws.session.login("alice", PASSWORD))
    qtbot.waitUntil(lambda: widget.model.rowCount() == 2, timeout=WAIT_MS)
    return widget


def _column(page: DeploymentsPage, title: str) -> int:
    titles = [page.model.headerData(c, Qt.Orientation.Horizontal)
              for c in range(page.model.columnCount())]
    return titles.index(title)


def test_revision_column_says_which_revision(page: DeploymentsPage) -> None:
    column = _column(page, "Revision")
    shown = sorted(page.proxy.index(r, column).data() for r in range(2))
    assert shown == ["#1", "#2"]


def test_lifecycle_steps_are_history_below_the_pills(qtbot: QtBot,
                                                     page: DeploymentsPage) -> None:
    page.table.selectRow(0)  # the newest: six stages then the lifecycle steps
    qtbot.waitUntil(lambda: page.store.detail is not None and len(page.store.stages) == 12,
                    timeout=WAIT_MS)
    stepper = page.stepper
    qtbot.waitUntil(stepper.history.isVisible, timeout=WAIT_MS)
    lines = stepper.history.text().splitlines()
    assert len(lines) == len(LIFECYCLE)
    assert "remove: succeeded" in lines[-1] and "watch: stopped" in lines[0]
    # No pill is squeezed and the stepper fits in the 1,180 px page.
    assert stepper.minimumSizeHint().width() <= page.width()
    for step, label in stepper.labels.items():
        assert label.width() >= label.sizeHint().width(), step
        assert label.geometry().right() <= stepper.width(), step


def test_remove_asks_by_name_with_cancel_first_and_does_not_block(
        qtbot: QtBot, page: DeploymentsPage) -> None:
    page.table.selectRow(0)  # the newest: what runs, so Remove is offered
    remove = page.buttons["remove"]
    qtbot.waitUntil(remove.isEnabled, timeout=WAIT_MS)
    qtbot.mouseClick(remove, Qt.MouseButton.LeftButton)  # returns: the box is open()ed
    box = page.confirm_box
    assert isinstance(box, QMessageBox)
    qtbot.waitUntil(box.isVisible, timeout=WAIT_MS)
    assert box.isModal() and QApplication.activeModalWidget() is box
    texts = [b.text() for b in box.buttons()]
    assert REMOVE_BUTTON in texts, texts
    default = box.defaultButton()
    assert isinstance(default, QPushButton) and default is box.escapeButton()
    assert default.text() != REMOVE_BUTTON
    actions_before = set(page.store._actions)
    qtbot.keyClick(box, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=WAIT_MS)
    assert set(page.store._actions) == actions_before  # cancelled: nothing started
    assert page.model.row(page.model.position(page.store.detail.id)).status \
        is DeploymentStatus.SUCCEEDED  # type: ignore[union-attr]
