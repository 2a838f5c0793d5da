"""Live stats on the Containers page over the real service and dockerd: streaming starts
when the page is shown and stops (no stats stream left on the engine) when it is hidden;
a busy-looping container's CPU sparkline reads about one core, an idle one's nearly
zero; each batch updates the changed rows' cells with ``dataChanged`` (never a reset);
the selected container's chart holds its samples."""

from __future__ import annotations

import os
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex
from pytestqt.qtbot import QtBot

from tests.env.docker import BUSYBOX_IMAGE, DockerEngine
from tests.support.qt import Workspace
from tests.support.sockets import connections_to, settled_connections
from tests.support.targets_store import alices_targets
from windflow_desktop.domain.enums import TargetKind
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.containers import ContainerService
from windflow_desktop.services.stats import StatsService
from windflow_desktop.stores.containers import ContainersStore
from windflow_desktop.stores.stats import StatsStore
from windflow_desktop.stores.targets import TargetsStore
from windflow_desktop.ui.models.base import SORT_ROLE
from windflow_desktop.ui.views.containers import CONTAINER_ROLE, CPU_COLUMN, ContainersPage

pytestmark = pytest.mark.gui
WAIT_MS = 30_000


@dataclass
class Env:
    ws: Workspace
    targets: TargetsStore
    containers: ContainersStore
    stats: StatsStore
    docker: DockerEngine


@pytest.fixture
def env(workspace: Workspace, tmp_path: Path, docker_engine: DockerEngine) -> Iterator[Env]:
    targets, pool, _keys = alices_targets(workspace, tmp_path)
    svc = workspace.services
    ctx = ServiceContext(svc.backend, svc.bus, clock=svc.clock)
    containers = ContainersStore(ContainerService(ctx, pool, svc.secrets), workspace.session)
    stats = StatsStore(StatsService(ctx, pool), workspace.session, interval_s=0.5)
    try:
        yield Env(workspace, targets, containers, stats, docker_engine)
    finally:
        for store in (stats, containers, targets):
            workspace.run(store.shutdown())
        workspace.run(pool.close())


def _row(page: ContainersPage, container_id: str) -> QModelIndex:
    for r in range(page.model.rowCount()):
        head = page.model.item(r, 0)
        for c in range(head.rowCount()):
            if head.child(c, 0).data(CONTAINER_ROLE).id == container_id:
                return page.model.indexFromItem(head.child(c, 0))
    raise AssertionError(f"{container_id[:12]} is not listed")


def test_stats_stream_while_shown_and_stop_when_hidden(qtbot: QtBot, env: Env) -> None:
    first = env.ws.run(env.targets.save(TargetSpec(name="laptop", kind=TargetKind.LOCAL,
                                                   docker_socket=env.docker.host)))
    other = env.ws.run(env.targets.save(TargetSpec(name="again", kind=TargetKind.LOCAL,
                                                   docker_socket=env.docker.host)))
    run = ("run", "-d", "--network", "none", "--stop-signal", "SIGKILL",
           "--label", "com.docker.compose.project=load")
    busy = env.docker.cli(*run, "--label", "com.docker.compose.service=busy", BUSYBOX_IMAGE,
                          "sh", "-c", "while :; do :; done").strip()
    idle = env.docker.cli(*run, "--label", "com.docker.compose.service=idle", BUSYBOX_IMAGE,
                          "sleep", "100000").strip()
    baseline = settled_connections(env.docker.socket)
    try:
        page = ContainersPage(env.containers, env.targets, stats=env.stats)
        qtbot.addWidget(page)
        page.resize(1280, 760)
        assert not env.stats.streaming  # built, not shown: nothing streams
        page.select_target(first.id)
        assert not env.stats.streaming
        page.show()
        qtbot.waitUntil(lambda: env.stats.streaming, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: any(c.id == busy for c in env.containers.containers),
                        timeout=WAIT_MS)

        resets, changes = [], []
        page.model.modelReset.connect(lambda: resets.append(1))
        page.model.dataChanged.connect(lambda a, b, roles: changes.append(
            (a.column(), b.column(), b.row() - a.row() + 1, list(roles))))
        batches = []
        env.stats.sig_stats_updated.connect(batches.append)
        qtbot.waitUntil(lambda: len(env.stats.history(busy)) >= 9
                        and len(env.stats.history(idle)) >= 9, timeout=WAIT_MS)
        # The median of 8 samples: other processes on this 2-core machine take the CPU
        # away from the busy container for a moment now and then.
        busy_cpu = statistics.median(s.cpu_percent for s in list(env.stats.history(busy))[1:])
        idle_cpu = statistics.median(s.cpu_percent for s in list(env.stats.history(idle))[1:])
        assert busy_cpu >= 50.0 and idle_cpu < 5.0, (busy_cpu, idle_cpu)
        # Each batch: the changed rows' two stats cells (busy and idle are adjacent rows of
        # one project: one range), the sort key only; no reset.
        assert not resets and batches and changes
        stats_changes = [c for c in changes if c[0] == CPU_COLUMN]
        assert all(c[:2] == (CPU_COLUMN, CPU_COLUMN + 1) and c[3] for c in stats_changes)
        assert len(stats_changes) <= len(batches) + 1
        cpu_cell = _row(page, busy).siblingAtColumn(CPU_COLUMN)
        assert cpu_cell.data(SORT_ROLE) == env.stats.latest(busy).cpu_percent  # type: ignore[union-attr]
        assert page.live is not None
        series = page.live.cpu_series(cpu_cell)
        assert series is not None and series.text.endswith("%") and len(series.values) >= 5
        idle_series = page.live.memory_series(_row(page, idle).siblingAtColumn(CPU_COLUMN + 1))
        assert idle_series is not None and idle_series.text

        page.tree.setCurrentIndex(page.proxy.mapFromSource(_row(page, busy)))
        qtbot.waitUntil(lambda: len(page.stats_chart.samples) >= 5, timeout=WAIT_MS)
        assert "CPU" in page.stats_chart.accessibleDescription()
        shot = os.environ.get("WINDFLOW_SCREENSHOT_DIR")
        if shot:
            page.grab().save(str(Path(shot) / "containers_stats.png"))

        # While shown: one stream per running container of the target, at least.
        assert connections_to(env.docker.socket) >= baseline + 2
        page.hide()
        qtbot.waitUntil(lambda: not env.stats.streaming, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: connections_to(env.docker.socket) <= baseline,
                        timeout=WAIT_MS)
        kept = len(env.stats.history(busy))
        qtbot.wait(1200)
        assert len(env.stats.history(busy)) == kept  # nothing arrives while hidden

        page.show()  # back: streaming again, the history kept
        qtbot.waitUntil(lambda: len(env.stats.history(busy)) > kept, timeout=WAIT_MS)
        page.select_target(other.id)  # another target: its own stream, a fresh history
        qtbot.waitUntil(lambda: env.stats.target_id == other.id and env.stats.streaming,
                        timeout=WAIT_MS)
        assert len(env.stats.history(busy)) < kept
        page.hide()
        qtbot.waitUntil(lambda: connections_to(env.docker.socket) <= baseline,
                        timeout=WAIT_MS)
    finally:
        env.docker.cli("rm", "-f", busy, idle, check=False)
