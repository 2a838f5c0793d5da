"""The updates store over the real service, engine and registry: "Check" on the dashboard
card asks every target's registries, the card counts the images with a newer image behind
their tag, and the news is told once (a second check of the same finding says nothing
new)."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.env.docker import BUSYBOX_IMAGE, DockerEngine
from tests.env.registry import Registry, registry  # noqa: F401 - fixture
from tests.support.auth import PASSWORD
from tests.support.qt import Workspace
from tests.support.targets_store import alices_targets
from windflow_desktop.domain.enums import TargetKind
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.dashboard import DashboardService
from windflow_desktop.services.updates import UpdateService
from windflow_desktop.stores.dashboard import DashboardStore
from windflow_desktop.stores.updates import UpdatesStore
from windflow_desktop.ui.views.dashboard import DashboardPage

pytestmark = pytest.mark.docker
WAIT_MS = 30_000


def test_the_card_counts_updates_and_the_news_is_told_once(
    qtbot: QtBot, workspace: Workspace, tmp_path: Path, docker_engine: DockerEngine,
    registry: Registry,  # noqa: F811
) -> None:
    ws = workspace
    targets, pool, _keys = alices_targets(ws, tmp_path)
    ws.run(ws.session.login("alice", PASSWORD))
    ws.run(targets.save(TargetSpec(name="laptop", kind=TargetKind.LOCAL,
                                   docker_socket=docker_engine.host)))
    qtbot.waitUntil(lambda: len(targets.targets) == 1, timeout=WAIT_MS)
    svc = ws.services
    service = UpdateService(ServiceContext(svc.backend, svc.bus, clock=svc.clock), pool,
                            svc.secrets)
    store = UpdatesStore(ws.session, service, targets)
    dashboard = DashboardStore(ws.session, DashboardService(ServiceContext(svc.backend,
                                                                           svc.bus)))
    page = DashboardPage(dashboard, updates=store)
    qtbot.addWidget(page)
    page.show()
    assert page.updates_card.value == "?"
    found: list[tuple[int, str]] = []
    store.sig_found.connect(lambda n, first: found.append((n, first)))

    image = f"{registry.host}/wf-card-{uuid.uuid4().hex[:6]}:1"
    docker_engine.cli("tag", BUSYBOX_IMAGE, image)
    docker_engine.cli("push", image)
    name = f"card-{uuid.uuid4().hex[:6]}"
    docker_engine.cli("run", "-d", "--name", name, "--network", "none", "--stop-signal",
                      "SIGKILL", image, "sleep", "300")
    try:
        folder = tmp_path / "img"
        folder.mkdir()
        (folder / "blob").write_bytes(os.urandom(2048))
        subprocess.run(["tar", "-C", str(folder), "-cf", str(folder / "b.tar"), "blob"],
                       check=True)
        docker_engine.cli("import", str(folder / "b.tar"), image)
        docker_engine.cli("push", image)

        qtbot.mouseClick(page.updates_card, Qt.MouseButton.LeftButton)  # "click to check"
        qtbot.waitUntil(lambda: page.updates_card.value == "1", timeout=WAIT_MS)
        assert [line.image for _t, line in store.available] == [image]
        assert image in page.updates_card.toolTip()
        assert found == [(1, image)]
        qtbot.waitUntil(store.check_now().done, timeout=WAIT_MS)
        assert found == [(1, image)]  # the same finding is not told twice
    finally:
        docker_engine.cli("rm", "-f", name)
        ws.run(store.shutdown())
        ws.run(dashboard.shutdown())
        ws.run(targets.shutdown())
        ws.run(pool.close())
