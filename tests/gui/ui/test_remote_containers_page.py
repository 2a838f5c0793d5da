"""The Targets and Containers pages over a WindFlow server: the same stores, given
``RemoteTargets`` and ``RemoteContainers`` instead of the local services, add a target
(the server reaches the test engine), list its containers grouped by project, follow a
log live over the server's stream and stop a container — the windows do not know which
mode they are in. (The signed-in local session only gives the stores a principal; the
server acts for olga's token.)"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from tests.env.docker import BUSYBOX_IMAGE, DockerEngine
from tests.support.auth import PASSWORD as LOCAL_PASSWORD
from tests.support.qt import Workspace
from tests.support.server import PASSWORD, Server, create_owner, running_server
from windflow_desktop.domain.enums import TargetKind, TargetStatus
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.remote.client import ServerSession
from windflow_desktop.remote.containers import RemoteContainers
from windflow_desktop.remote.targets import RemoteTargets
from windflow_desktop.stores.containers import ContainersStore
from windflow_desktop.stores.targets import TargetsStore
from windflow_desktop.ui.views.containers import CONTAINER_ROLE, ContainersPage
from windflow_desktop.ui.views.targets import TargetsPage

WAIT_MS = 30_000


@dataclass
class Remote:
    server: Server
    session: ServerSession
    targets: TargetsStore
    containers: ContainersStore


@pytest.fixture
def remote(workspace: Workspace, tmp_path: Path) -> Iterator[Remote]:
    home = tmp_path / "server"
    home.mkdir()
    create_owner(home)
    workspace.run(workspace.session.setup(
        username="alice", email="alice@example.test", password=LOCAL_PASSWORD,
        organization_name="Here"))
    with running_server(home) as server:
        session = ServerSession(server.url)
        workspace.run(session.login("olga", PASSWORD))
        targets = TargetsStore(RemoteTargets(session), workspace.session)
        containers = ContainersStore(RemoteContainers(session), workspace.session)
        try:
            yield Remote(server, session, targets, containers)
        finally:
            workspace.run(containers.shutdown())
            workspace.run(targets.shutdown())
            workspace.run(session.close())


def test_targets_and_containers_pages_over_a_server(
        qtbot: QtBot, workspace: Workspace, remote: Remote, docker_engine: DockerEngine,
        tmp_path: Path) -> None:
    target = workspace.run(remote.targets.save(TargetSpec(
        name="engine-on-server", kind=TargetKind.LOCAL, docker_socket=docker_engine.host)))
    workspace.run(remote.targets.load())
    targets_page = TargetsPage(remote.targets)
    qtbot.addWidget(targets_page)
    targets_page.resize(1100, 500)
    targets_page.show()
    qtbot.waitUntil(lambda: [t.name for t in remote.targets.targets] == ["engine-on-server"],
                    timeout=WAIT_MS)
    workspace.run(remote.targets.test(target.id))
    qtbot.waitUntil(lambda: remote.targets.targets[0].status is TargetStatus.ONLINE,
                    timeout=WAIT_MS)
    targets_page.grab().save(str(tmp_path / "remote-targets.png"))

    project = f"shop{uuid.uuid4().hex[:4]}"
    ids = [docker_engine.cli(
        "run", "-d", "--network", "none", "--stop-signal", "SIGKILL",
        "--label", f"com.docker.compose.project={project}",
        "--label", f"com.docker.compose.service={service}", BUSYBOX_IMAGE, "sh", "-c",
        f"i=0; while true; do i=$((i+1)); echo {service} line $i; sleep 0.05; done",
    ).strip() for service in ("web", "worker")]
    try:
        page = ContainersPage(remote.containers, remote.targets)
        qtbot.addWidget(page)
        page.resize(1100, 650)
        page.show()
        page.select_target(target.id)
        qtbot.waitUntil(lambda: {c.id for c in remote.containers.containers} >= set(ids),
                        timeout=WAIT_MS)
        heads = [page.model.item(r, 0).text() for r in range(page.model.rowCount())]
        head_row = next(i for i, h in enumerate(heads) if h.startswith(project))
        assert "(2/2 running)" in heads[head_row]
        group = page.model.item(head_row, 0)
        web = next(group.child(i, 0) for i in range(group.rowCount())
                   if group.child(i, 0).data(CONTAINER_ROLE).service == "web")
        page.tree.setCurrentIndex(page.proxy.mapFromSource(page.model.indexFromItem(web)))

        page.logs_button.click()
        qtbot.waitUntil(lambda: page.log_view.lines_appended >= 20, timeout=WAIT_MS)
        assert "web line" in page.log_view.plain_text()
        assert page.log_view.state.text() == "following live"
        page.grab().save(str(tmp_path / "remote-containers.png"))
        page.stop_logs_button.click()
        qtbot.waitUntil(lambda: page.log_view.state.text() == "stopped", timeout=WAIT_MS)

        page.buttons["stop"].click()
        qtbot.waitUntil(lambda: any(c.id == ids[0] and not c.running
                                    for c in remote.containers.containers), timeout=WAIT_MS)
        assert "false" in docker_engine.cli("inspect", "--format", "{{.State.Running}}",
                                            ids[0])
    finally:
        docker_engine.cli("rm", "-f", *ids, check=False)
