"""The "drifted" badge on the Deployments page, over the real drift service and a real
engine: a deployment whose container carries another Compose config hash than the one
``up`` gave it shows "⚠ drifted" in its Status cell with the differences as tooltip and
in its detail, right after a health round of its target (the drift check follows it);
an operator is offered "Put back" (button and context menu), a viewer sees the badge but
no Put back; the clean deployment beside it shows its plain status."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.env.docker import BUSYBOX_IMAGE, DockerEngine
from tests.support.auth import PASSWORD
from tests.support.deployments import acme_owned_by_alice, offline_deployments
from tests.support.qt import Workspace
from tests.support.targets_store import target_service
from windflow_desktop.domain.enums import DeploymentStage, DeploymentStatus, Role, TargetKind
from windflow_desktop.domain.models import Deployment, Stack, StackRevision, Target
from windflow_desktop.engine import ExecutorPool, KnownHosts
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.drift import CONFIG_HASH_LABEL, DriftService
from windflow_desktop.stores.targets import TargetsStore
from windflow_desktop.stores.updates import DriftStore
from windflow_desktop.ui.views.deployments import DRIFTED, PUT_BACK, DeploymentsPage

pytestmark = pytest.mark.docker
WAIT_MS = 30_000
SHOT = os.environ.get("WINDFLOW_DRIFT_SHOT", "")

STACK = """\
services:
  web:
    image: localhost/busybox
    command: ["sleep", "1000000"]
    stop_signal: SIGKILL
"""


def _run_container(engine: DockerEngine, project: str, config_hash: str) -> str:
    return engine.cli("run", "-d", "--name", f"{project}-web-1", "--network", "none",
                      "--stop-signal", "SIGKILL",
                      "--label", f"com.docker.compose.project={project}",
                      "--label", "com.docker.compose.service=web",
                      "--label", f"{CONFIG_HASH_LABEL}={config_hash}",
                      BUSYBOX_IMAGE, "sleep", "1000000").strip()


def test_the_drifted_badge_and_put_back_for_an_operator_not_a_viewer(
        qtbot: QtBot, workspace: Workspace, tmp_path: Path, docker_engine: DockerEngine
) -> None:
    ws, svc = workspace, workspace.services
    org = acme_owned_by_alice(ws)
    suffix = uuid.uuid4().hex[:8]
    drifted_project, clean_project = f"wf-shop-{suffix}", f"wf-blog-{suffix}"

    async def fill() -> tuple[Target, Deployment, Deployment]:
        async with svc.backend.unit_of_work() as uow:
            target = await uow.targets.add(Target(
                organization_id=org, name="laptop", kind=TargetKind.LOCAL,
                docker_socket=docker_engine.host))
            deps = []
            for name, project in (("Shop", drifted_project), ("Blog", clean_project)):
                stack = await uow.stacks.add(Stack(organization_id=org, name=name,
                                                   slug=name.lower(), current_revision=1))
                rev = await uow.stacks.add_revision(StackRevision(stack.id, 1, STACK))
                deps.append(await uow.deployments.add(Deployment(
                    organization_id=org, stack_id=stack.id, revision_id=rev.id,
                    target_id=target.id, project_name=project,
                    status=DeploymentStatus.SUCCEEDED, stage=DeploymentStage.DONE,
                    config_hashes={"web": f"deployed-{project}"})))
            await uow.commit()
        return target, deps[0], deps[1]

    _target, drifted, clean = ws.run(fill())
    started = [_run_container(docker_engine, drifted_project, "recreated-by-hand"),
               _run_container(docker_engine, clean_project, f"deployed-{clean_project}")]
    targets = TargetsStore(target_service(ws, tmp_path), ws.session)
    pool = ExecutorPool(KnownHosts(tmp_path / "drift_known_hosts"), svc.secrets.aget)
    drift = DriftStore(ws.session, DriftService(ServiceContext(svc.backend, svc.bus), pool),
                       targets)
    store, _service = offline_deployments(ws, drift=drift)
    page = DeploymentsPage(store, names=lambda kind, i: {
        drifted.stack_id: "Shop", clean.stack_id: "Blog"}.get(i, "laptop"))
    qtbot.addWidget(page)
    page.resize(1100, 640)
    page.show()
    try:
        ws.run(ws.session.login("alice", PASSWORD))
        qtbot.waitUntil(lambda: page.model.rowCount() == 2 and targets.loaded,
                        timeout=WAIT_MS)

        def status_of(dep: Deployment) -> str:
            position = page.model.position(dep.id)
            assert position is not None
            return str(page.model.index(position, 0).data())

        assert status_of(drifted) == status_of(clean) == "succeeded"
        # One health round of the target (the loop's round, run here once): the drift
        # check follows it on the targets found online.
        checked: list[object] = []
        targets.sig_health_checked.connect(checked.append)
        ws.run(targets.health_round())
        assert checked
        qtbot.waitUntil(lambda: status_of(drifted) == DRIFTED, timeout=WAIT_MS)
        assert status_of(clean) == "succeeded"
        row = page.model.position(drifted.id)
        assert row is not None
        tip = str(page.model.index(row, 0).data(Qt.ItemDataRole.ToolTipRole))
        assert "web: its configuration was changed by hand" in tip
        assert f"{drifted_project}-web-1 was recreated outside WindFlow" in tip
        clean_row = page.model.position(clean.id)
        assert clean_row is not None
        assert page.model.index(clean_row, 0).data(Qt.ItemDataRole.ToolTipRole) is None

        # The operator (alice owns the organization): the detail says it, Put back offered.
        page.table.selectRow(page.proxy.mapFromSource(page.model.index(row, 0)).row())
        qtbot.waitUntil(lambda: store.detail is not None and store.detail.id == drifted.id,
                        timeout=WAIT_MS)
        qtbot.waitUntil(lambda: page.drift.isVisible(), timeout=WAIT_MS)
        assert "changed by hand" in page.drift.text()
        assert page.put_back.isVisible() and page.put_back.isEnabled()
        menu = page.build_context_menu(drifted)
        assert PUT_BACK in [a.text() for a in menu.actions()]
        menu.close()
        if SHOT:
            page.grab().save(SHOT)

        # A viewer sees the badge and the differences, and no Put back anywhere.
        owner = ws.session.require_principal()
        ws.run(svc.users.create_user(owner, username="bob", email="bob@example.test",
                                     password=PASSWORD, role=Role.VIEWER))
        ws.run(ws.session.logout())
        ws.run(ws.session.login("bob", PASSWORD))
        qtbot.waitUntil(lambda: page.model.rowCount() == 2 and targets.loaded,
                        timeout=WAIT_MS)
        ws.run(drift.check_now())
        qtbot.waitUntil(lambda: status_of(drifted) == DRIFTED, timeout=WAIT_MS)
        row = page.model.position(drifted.id)
        assert row is not None
        page.table.selectRow(page.proxy.mapFromSource(page.model.index(row, 0)).row())
        qtbot.waitUntil(lambda: store.detail is not None and store.detail.id == drifted.id,
                        timeout=WAIT_MS)
        qtbot.waitUntil(lambda: page.drift.isVisible(), timeout=WAIT_MS)
        assert not store.can_put_back(drifted)
        assert page.put_back.isHidden()
        menu = page.build_context_menu(drifted)
        assert PUT_BACK not in [a.text() for a in menu.actions()]
        menu.close()
    finally:
        docker_engine.cli("rm", "-f", *started, check=False)
        ws.run(pool.close())
        ws.run(drift.shutdown())
        ws.run(targets.shutdown())
