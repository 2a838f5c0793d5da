"""Live stats figures (issue 19).

- ``stats_100_containers_max_stall_ms``: the longest gap between ticks of a 1 ms
  ``QTimer`` while 100 containers stream their stats at 1 Hz through ``StatsStore`` into
  the shown Containers page (two sparkline columns, the tree sorted by CPU so every batch
  may reorder rows, the selected container's chart) for 15 s (goal ≤ 16 ms). The
  batches are SYNTHETIC, fed at the service boundary: a ``StatsApi`` whose ``watch``
  yields 100 fresh ``ContainerStats`` a second, and a ``ContainersApi`` listing 100
  containers in 10 compose projects — the figure is the store's and the page's work, not
  an engine's. Also ``_loop_cpu_ms`` (the most CPU time the loop's thread spent between
  two ticks: the stall without the time the OS gave other processes), ``_batches`` and
  ``_row_updates`` (``dataChanged`` signals per batch, on average; never a reset).
- ``stats_100_containers_engine_max_stall_ms``: the same page over the real
  ``StatsService`` and a dockerd of its own running 100 idle busybox containers (100
  stats streams on one client; each sample parsed on the loop).

Each runs in a fresh process (``python -m tests.benchmarks.bench_stats MODE``), under the
app's own GC policy once set up, as the app runs it.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from . import benchmark
from .stall import cpu_ticker, max_cpu_gap_ms, max_gap_ms

CONTAINERS = 100
PROJECTS = 10
MEASURE_S = 15.0


def _child(mode: str) -> dict[str, float]:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    out = subprocess.run([sys.executable, "-m", "tests.benchmarks.bench_stats", mode],
                         env=env, capture_output=True, text=True, timeout=600, check=False)
    sys.stderr.write(out.stderr[-4000:])
    lines = out.stdout.strip().splitlines()
    if not lines or not lines[-1].startswith("{"):
        raise RuntimeError(f"the {mode} child failed (exit {out.returncode})")
    print("\n".join(lines[:-1]), file=sys.stderr)
    results: dict[str, float] = json.loads(lines[-1])
    return results


@benchmark("stats_100_containers")
def bench_stats_synthetic() -> dict[str, float]:
    return _child("synthetic")


@benchmark("stats_100_containers_engine")
def bench_stats_engine() -> dict[str, float]:
    return _child("engine")


# -- the child -------------------------------------------------------------------------------


class SyntheticContainers:
    """A ``ContainersApi`` that lists ``ids`` (10 compose projects)."""

    def __init__(self, ids: list[str]) -> None:
        from windflow_desktop.domain.containers import ContainerInfo

        self.listed = [ContainerInfo(id=cid, name=f"p{i % PROJECTS}-svc{i}-1",
                                     image="localhost/busybox:latest", state="running",
                                     status="Up 2 minutes", created=None,
                                     project=f"p{i % PROJECTS}", service=f"svc{i}")
                       for i, cid in enumerate(ids)]

    async def list_containers(self, principal: Any, target_id: Any) -> list[Any]:
        return list(self.listed)


class SyntheticStats:
    """A ``StatsApi`` yielding a fresh sample of every container once per interval."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids

    async def watch(self, principal: Any, target_id: Any, *, interval_s: float = 1.0,
                    refresh_s: float = 5.0) -> AsyncIterator[dict[str, Any]]:
        from windflow_desktop.domain.containers import ContainerStats

        rnd, totals = random.Random(19), dict.fromkeys(self.ids, 0)
        while True:
            await asyncio.sleep(interval_s)
            now = time.time()
            batch = {}
            for cid in self.ids:
                totals[cid] += rnd.randrange(0, 50_000)
                batch[cid] = ContainerStats(
                    cpu_percent=rnd.uniform(0, 120), memory_bytes=rnd.randrange(1, 500) << 20,
                    memory_limit_bytes=8 << 30, network_rx_bytes=totals[cid],
                    network_tx_bytes=totals[cid] // 3, block_read_bytes=totals[cid] // 7,
                    block_write_bytes=totals[cid] // 5, online_cpus=2, read_at=now)
            yield batch


async def _measure(mode: str, home: Path) -> dict[str, float]:
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtWidgets import QMainWindow

    from tests.support.auth import PASSWORD, build_services
    from windflow_desktop.domain.enums import TargetKind, TargetStatus
    from windflow_desktop.domain.models import Target
    from windflow_desktop.engine import ExecutorPool, KnownHosts
    from windflow_desktop.gc_policy import GcPolicy
    from windflow_desktop.repositories.sql.backend import SqlBackend
    from windflow_desktop.services.common import ServiceContext
    from windflow_desktop.services.containers import ContainerService
    from windflow_desktop.services.stats import StatsService
    from windflow_desktop.services.targets import TargetService
    from windflow_desktop.stores.containers import ContainersStore
    from windflow_desktop.stores.session import SessionStore
    from windflow_desktop.stores.stats import StatsStore
    from windflow_desktop.stores.targets import TargetsStore
    from windflow_desktop.ui.views.containers import CPU_COLUMN, ContainersPage

    engine: Any = None
    if mode == "engine":
        from tests.env.docker import BUSYBOX_IMAGE, start_docker

        engine = start_docker()
        created = [engine.cli("create", "--network", "none", "--stop-signal", "SIGKILL",
                              "--label", f"com.docker.compose.project=p{i % PROJECTS}",
                              "--label", f"com.docker.compose.service=svc{i}",
                              BUSYBOX_IMAGE, "sleep", "100000").strip()
                   for i in range(CONTAINERS)]
        engine.cli("start", *created, timeout=300)
        ids = created
        socket = engine.host
    else:
        ids = [uuid.uuid4().hex + uuid.uuid4().hex for _ in range(CONTAINERS)]
        socket = "unix:///nonexistent/docker.sock"
    backend = SqlBackend(f"sqlite+aiosqlite:///{home / 'workspace.db'}")
    await backend.open()
    services = build_services(backend)
    session = SessionStore(services.auth)
    await session.setup(username="ada", email="ada@example.test", password=PASSWORD,
                        organization_name="Acme")
    p = session.require_principal()
    async with backend.unit_of_work() as uow:
        target = await uow.targets.add(Target(
            organization_id=p.organization_id, name="laptop", kind=TargetKind.LOCAL,
            docker_socket=socket, status=TargetStatus.ONLINE))
        await uow.commit()
    ctx = ServiceContext(backend, services.bus)
    pool = ExecutorPool(KnownHosts(home / "known_hosts"), services.secrets.aget)
    targets = TargetsStore(TargetService(ctx, services.secrets, pool), session)
    await targets.load()
    if mode == "engine":
        containers = ContainersStore(ContainerService(ctx, pool, services.secrets), session)
        stats = StatsStore(StatsService(ctx, pool), session)
    else:
        containers = ContainersStore(SyntheticContainers(ids), session)  # type: ignore[arg-type]
        stats = StatsStore(SyntheticStats(ids), session)
    window = QMainWindow()
    page = ContainersPage(containers, targets,
                          QSettings(str(home / "ui.ini"), QSettings.Format.IniFormat),
                          stats=stats)
    window.setCentralWidget(page)
    window.resize(1280, 800)
    window.show()
    page.select_target(target.id)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (
            sum(1 for cid in ids if len(stats.history(cid)) >= 2) < CONTAINERS
            or len([c for c in containers.containers if c.id in set(ids)]) < CONTAINERS):
        await asyncio.sleep(0.1)
    streaming = sum(1 for cid in ids if stats.history(cid))
    page.tree.sortByColumn(CPU_COLUMN, Qt.SortOrder.DescendingOrder)  # reorders each batch
    first = page.proxy.index(0, 0)
    page.tree.setCurrentIndex(page.proxy.index(0, 0, first))  # the chart follows one
    policy = GcPolicy()  # the app's own, wired as app.py does once its workspace is open
    policy.start()
    for store in (session, targets, containers, stats):
        policy.watch(store.sig_busy_changed)

    batches, changes, resets = [], [0], [0]
    stats.sig_stats_updated.connect(batches.append)
    page.model.dataChanged.connect(lambda *_a: changes.__setitem__(0, changes[0] + 1))
    page.model.modelReset.connect(lambda: resets.__setitem__(0, resets[0] + 1))
    timer, ticks = cpu_ticker()
    timer.start()
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    await asyncio.sleep(MEASURE_S)
    finished = time.perf_counter()
    timer.stop()
    stall = max_gap_ms([wall for wall, _cpu in ticks], started, finished)
    cpu = max_cpu_gap_ms(ticks, started, finished)
    feed = "SYNTHETIC batches fed at the service boundary" if mode != "engine" else (
        f"the real StatsService on a dockerd with {CONTAINERS} containers")
    print(f"# stats ({feed}): {len(batches)} batches in {finished - started:.1f} s, "
          f"{streaming}/{CONTAINERS} containers streaming, {changes[0]} dataChanged, "
          f"{resets[0]} resets, longest stall {stall:.1f} ms (loop CPU {cpu:.1f} ms)",
          flush=True)
    policy.stop()
    for store in (stats, containers, targets, session):
        await store.shutdown()
    await pool.close()
    await backend.close()
    window.close()
    if engine is not None:
        await asyncio.to_thread(engine.stop)
    if resets[0] or streaming < CONTAINERS or not batches:
        raise RuntimeError(f"{streaming} of {CONTAINERS} streamed, {resets[0]} resets")
    prefix = "stats_100_containers" if mode != "engine" else "stats_100_containers_engine"
    return {f"{prefix}_max_stall_ms": round(stall, 1),
            f"{prefix}_loop_cpu_ms": round(cpu, 1),
            f"{prefix}_batches": float(len(batches)),
            f"{prefix}_row_updates": round(changes[0] / max(len(batches), 1), 1)}


def run(mode: str) -> dict[str, float]:
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["windflow-bench"])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    with tempfile.TemporaryDirectory() as home:
        return qasync.run(_measure(mode, Path(home)))  # type: ignore[no-any-return]


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _figures = run(sys.argv[1])
    print(json.dumps(_figures), flush=True)
    sys.stderr.flush()
    os._exit(0)
