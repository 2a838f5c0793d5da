"""The journey, against a real Docker engine, through the whole app (``WindFlowApp``):
first run → add this computer as a target (pointed at the test dockerd) → test and scan
→ create a stack (busybox httpd) → deploy → the deployment shows succeeded in the
Deployments table (and on the dashboard) and a notification is emitted → stop → remove.

The first-run dialog is filled in as a user would; where a dialog would need a person
(the target wizard, the deploy dialog) the test calls the store action the dialog calls.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from tests.env.docker import DockerEngine
from tests.env.keyring_backend import MemoryKeyring
from tests.env.services import free_port
from tests.gui.test_app import dialog_of
from tests.gui.test_auth_dialogs import click, fill_first_run
from tests.integration.deploy_support import compose_v2_config, http_get
from windflow_desktop.app import WindFlowApp
from windflow_desktop.config import load_settings
from windflow_desktop.domain.enums import (
    DeploymentStage,
    DeploymentStatus,
    TargetKind,
    TargetStatus,
)
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.services.targets import TargetSpec
from windflow_desktop.stores.notifications import NotificationKind
from windflow_desktop.ui.dialogs.first_run import FirstRunDialog
from windflow_desktop.ui.views.dashboard import DashboardPage

pytestmark = [pytest.mark.gui]

WAIT_MS = 60_000
STACK = """\
services:
  web:
    image: localhost/busybox
    command:
      - sh
      - -c
      - mkdir -p /www && echo "hello from the journey" > /www/index.html &&
        exec httpd -f -p 8080 -h /www
    ports: ["127.0.0.1:${WEB_PORT}:8080"]
    stop_signal: SIGKILL
"""


def containers(engine: DockerEngine, project: str, *, running_only: bool) -> list[str]:
    args = ["ps", "-q", "--filter", f"label=com.docker.compose.project={project}"]
    if not running_only:
        args.insert(1, "-a")
    return engine.cli(*args).split()


def done(qtbot: QtBot, task: asyncio.Task[Any]) -> Any:
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    return task.result()


def test_first_run_to_deploy_stop_remove(qtbot: QtBot, qloop: Any, tmp_path: Path,
                                         docker_engine: DockerEngine,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # This computer's tools: Compose v2 as a CLI plugin; project folders under a test HOME.
    monkeypatch.setenv("DOCKER_CONFIG", str(compose_v2_config(tmp_path)))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    settings = load_settings({"WINDFLOW_HOME": str(tmp_path / "wf")})
    app = WindFlowApp(settings, started=time.monotonic(), secrets=SecretStore(MemoryKeyring()))
    running = qloop.create_task(app.run())
    try:
        # 1. first run
        qtbot.waitUntil(lambda: dialog_of(FirstRunDialog) is not None, timeout=WAIT_MS)
        first_run = dialog_of(FirstRunDialog)
        fill_first_run(qtbot, first_run)
        click(qtbot, first_run.submit_button)
        qtbot.waitUntil(lambda: app.session.signed_in, timeout=WAIT_MS)
        window = app.window
        assert window is not None and window.isVisible()
        dashboard = window.page("dashboard")
        assert isinstance(dashboard, DashboardPage)
        qtbot.waitUntil(lambda: dashboard.store.loaded, timeout=WAIT_MS)
        assert dashboard.online_card.value == "0 / 0"

        # 2. add this computer's engine (what the wizard's Save does), test and scan it
        window.show_page("targets")
        targets_page = window.page("targets")
        targets = targets_page.store  # type: ignore[union-attr]
        target = done(qtbot, targets.save(TargetSpec(
            name="this computer", kind=TargetKind.LOCAL, docker_socket=docker_engine.host)))
        assert target is not None
        qtbot.waitUntil(lambda: targets_page.model.position(target.id)  # type: ignore[union-attr]
                        is not None, timeout=WAIT_MS)
        report = done(qtbot, targets.test(target.id))
        assert report is not None and report.ok, report
        outcome = done(qtbot, targets.scan(target.id))
        assert outcome is not None
        kinds = {c.kind for c in targets.capabilities(target.id) if c.available}
        assert {"docker", "compose_v2"} <= kinds, kinds
        assert targets.target(target.id).status is TargetStatus.ONLINE
        qtbot.waitUntil(lambda: dashboard.online_card.value == "1 / 1", timeout=WAIT_MS)

        # 3. a stack: busybox httpd on a free port
        window.show_page("stacks")
        stacks = window.page("stacks").store  # type: ignore[union-attr]
        stack = done(qtbot, stacks.create(
            name="Hello web", compose_yaml=STACK,
            variables=[{"name": "WEB_PORT", "required": True}], message="first"))
        assert stack is not None

        # 4. deploy (what the deploy dialog's Deploy does); watch the table and the tray
        notifications = app.tray.store
        notified: list[Any] = []
        notifications.sig_notified.connect(notified.append)
        window.show_page("deployments")
        deployments_page = window.page("deployments")
        deployments = deployments_page.store  # type: ignore[union-attr]
        port = free_port()
        [dep] = done(qtbot, deployments.deploy(stack.id, [target.id],
                                               variables={"WEB_PORT": str(port)}))
        model = deployments_page.model  # type: ignore[union-attr]

        def status_in_table() -> DeploymentStatus | None:
            pos = model.position(dep.id)
            return None if pos is None else model.row(pos).status

        qtbot.waitUntil(lambda: status_in_table() is not None and
                        status_in_table().is_terminal, timeout=WAIT_MS)
        assert status_in_table() is DeploymentStatus.SUCCEEDED, deployments.rows[0].error
        shown = [model.index(model.position(dep.id), c).data()
                 for c in range(model.columnCount())]
        assert any("succeeded" in str(text).lower() for text in shown), shown
        row = model.row(model.position(dep.id))  # patched from events: stage and duration
        assert row.stage is DeploymentStage.DONE and row.started_at is not None
        assert row.finished_at is not None and row.finished_at >= row.started_at
        assert http_get(port) == "hello from the journey"
        qtbot.waitUntil(lambda: any(n.kind is NotificationKind.DEPLOYMENT_SUCCEEDED
                                    and n.aggregate_id == str(dep.id) for n in notified),
                        timeout=WAIT_MS)
        assert notifications.recent[0].kind is NotificationKind.DEPLOYMENT_SUCCEEDED
        # the dashboard followed live
        qtbot.waitUntil(lambda: dashboard.deployments_model.rowCount() == 1 and
                        dashboard.deployments_model.row(0).status is DeploymentStatus.SUCCEEDED,
                        timeout=WAIT_MS)
        # (the row is patched from the event at once; the counts follow with the reload)
        qtbot.waitUntil(lambda: dashboard.running_card.value == "0" and
                        dashboard.stacks_card.value == "1", timeout=WAIT_MS)
        project = dep.project_name
        assert len(containers(docker_engine, project, running_only=True)) == 1

        # 5. stop: the containers stop, the row says so
        done(qtbot, deployments.act_on("stop", dep.id))
        qtbot.waitUntil(lambda: status_in_table() is DeploymentStatus.STOPPED, timeout=WAIT_MS)
        assert containers(docker_engine, project, running_only=True) == []

        # 6. remove: nothing of the project is left on the engine
        done(qtbot, deployments.act_on("remove", dep.id))
        qtbot.waitUntil(lambda: status_in_table() is DeploymentStatus.REMOVED, timeout=WAIT_MS)
        assert containers(docker_engine, project, running_only=False) == []
        qtbot.waitUntil(lambda: dashboard.deployments_model.row(0).status
                        is DeploymentStatus.REMOVED, timeout=WAIT_MS)
    finally:
        app.quit_requested.set()
        qtbot.waitUntil(running.done, timeout=WAIT_MS)
    assert running.result() == 0
