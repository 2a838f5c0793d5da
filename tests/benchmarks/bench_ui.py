"""UI figures (issue 7).

- ``ui_event_storm_max_stall_ms``: the longest gap between ticks of a 1 ms ``QTimer``
  while 20,000 events travel ``LocalBus`` → ``EventBridge`` → ``ActivityStore`` (live
  prepend into the shown Activity table, sorted, over 1,000 loaded rows) and
  ``NotificationsStore`` (notification centre, toast, no tray) on the qasync loop
  (goal ≤ 50 ms). Two mixes: ``_mixed`` (40 % log lines, 20 % stage changes — not
  audited — and the rest finished deployments and target status changes) and
  ``_audited`` (every event is an audited one: 20,000 new rows). The figure is the worse.
  It is measured under the app's own GC policy (``windflow_desktop.gc_policy``: started
  once set-up is done and wired to the bridge and the stores, as ``app.py`` does once
  its workspace is open), each mix in a process of its own — an earlier run's heap
  inflated a later run's collections (52-83 ms measured when the four runs shared one
  process, 23-28 ms each alone).
- ``ui_event_storm_cpython_gc_*``: under CPython's own GC schedule, for comparison. Most
  long stalls there are the cyclic garbage collector's generation-2 passes over the
  whole heap (40-180 ms measured with ``gc.callbacks``), not the stores or models.
- ``ui_log_flood_max_stall_ms``: the longest gap between ticks of a 1 ms ``QTimer`` while
  10,000 lines/s reach the deployment log viewer for 5 s (50,000 lines): ``deployment.log``
  events of ~500 lines every 50 ms (the pipeline's ``LogWriter`` cadence) travel
  ``LocalBus`` → ``EventBridge`` → ``DeploymentsStore`` → the shown Deployments page's
  ``LogPanel`` with the deployment selected and following (goal ≤ 50 ms). After set-up
  the app's own GC policy runs, as in the app once its workspace is open.
- ``ui_deployments_100k_open_ms``: over a SQLite workspace holding 100,000 deployments,
  from ``DeploymentsPage`` construction (signed in, the store loading its first keyset
  page as the app does) to the first rows painted in the table (goal ≤ 300 ms). The worst
  of three opens, the first on a freshly opened database. Also ``_first_open_ms``.
- ``idle_rss_mb``: the resident memory of the real app (``WindFlowApp`` on qasync, every
  page built) at idle, signed in by its remembered session, on a workspace with 1,000
  targets and 10,000 deployments (goal ≤ 250 MB). The workspace is seeded by this process;
  the app runs alone in a child process (a file keyring carries the remembered session
  between them). Health rounds are off: the 1,000 targets are made-up hosts, and
  connecting to them is not idling. Also ``idle_rss_baseline_mb``: the same app on a
  workspace with nothing but the owner.
- ``ui_two_instances_change_max_ms`` (also ``_p50_ms``, ``_p90_ms``): two instances of
  the app's graph on one PostgreSQL and one Redis; from the start of a change in one
  (a target added, a stack created, a target renamed; 60 changes, the two taking turns)
  to its row in the other's table model (goal: within one second). The two-instance
  test checks that the change arrives live; this is how fast
  (``tests/benchmarks/two_instances_child.py``).

Every child measures in a fresh process (``python -m tests.benchmarks.bench_ui MODE``).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from windflow_desktop.domain.events import Event

from . import benchmark
from .stall import FullCollections, cpu_ticker, max_cpu_gap_ms, max_gap_ms

STORM_EVENTS = 20_000
IDLE_TARGETS = 1_000
IDLE_DEPLOYMENTS = 10_000


def _storm(org: str, actor: str, count: int, audited_only: bool) -> list[Event]:
    events = []
    for n in range(count):
        slot = 99 if audited_only else n % 20
        dep = f"dep-{n // 8:05d}"
        if slot < 8:
            events.append(Event("deployment.log", "deployment", dep, {"seq": n, "line": "x"},
                                organization_id=org, actor_id=actor))
        elif slot < 12:
            events.append(Event("deployment.stage_changed", "deployment", dep,
                                {"status": "running", "stage": "up"},
                                organization_id=org, actor_id=actor))
        elif n % 5 == 0:
            to = "offline" if n % 10 == 0 else "online"
            events.append(Event("target.status_changed", "target", f"t{n % 50}",
                                {"name": f"edge-{n % 50:02d}", "to": to,
                                 "from": "online" if to == "offline" else "offline"},
                                organization_id=org))
        else:
            status = ("succeeded", "failed", "rolled_back", "succeeded")[n % 4]
            events.append(Event("deployment.finished", "deployment", f"{dep}-{n}",
                                {"status": status, "stack_id": f"s{n % 30}",
                                 "target_id": f"t{n % 50}"},
                                organization_id=org, actor_id=actor))
    return events


def _child(mode: str, *args: str, env: dict[str, str] | None = None) -> dict[str, float]:
    """Run ``python -m tests.benchmarks.bench_ui MODE ARGS`` and read its last JSON line."""
    env = dict(os.environ if env is None else env)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    out = subprocess.run([sys.executable, "-m", "tests.benchmarks.bench_ui", mode, *args],
                         env=env, capture_output=True, text=True, timeout=900, check=False)
    sys.stderr.write(out.stderr[-4000:])
    lines = out.stdout.strip().splitlines()
    if not lines or not lines[-1].startswith("{"):
        raise RuntimeError(f"the {mode} child failed (exit {out.returncode})")
    print("\n".join(lines[:-1]), file=sys.stderr)
    results: dict[str, float] = json.loads(lines[-1])
    return results


@benchmark("ui_event_storm")
def bench_event_storm() -> dict[str, float]:
    """Runs in a child process (see its ``__main__``): a fresh heap, and a PySide6 6.12
    reference bug contained there."""
    runs: dict[str, float] = {}
    for gc_mode in ("app", "cpython"):
        for mix in ("mixed", "audited"):
            runs.update(_child("storm", mix, gc_mode))
    results: dict[str, float] = {}
    for mix in ("mixed", "audited"):
        results[f"ui_event_storm_{mix}_max_stall_ms"] = runs[f"{mix}_app"]
        results[f"ui_event_storm_cpython_gc_{mix}_max_stall_ms"] = runs[f"{mix}_cpython"]
    for prefix in ("ui_event_storm", "ui_event_storm_cpython_gc"):
        results[f"{prefix}_max_stall_ms"] = max(results[f"{prefix}_mixed_max_stall_ms"],
                                                results[f"{prefix}_audited_max_stall_ms"])
    return results


@benchmark("ui_log_flood")
def bench_log_flood() -> dict[str, float]:
    return _child("log_flood")


@benchmark("ui_deployments_100k_open")
def bench_deployments_open() -> dict[str, float]:
    return _child("deployments_open")


@benchmark("ui_two_instances")
def bench_two_instances() -> dict[str, float]:
    return _child("two_instances")


@benchmark("idle_rss")
def bench_idle_rss() -> dict[str, float]:
    from .ui_support import seed_app_home

    results: dict[str, float] = {}
    for name, targets, deployments in (("idle_rss_baseline_mb", 0, 0),
                                       ("idle_rss_mb", IDLE_TARGETS, IDLE_DEPLOYMENTS)):
        with tempfile.TemporaryDirectory() as home:
            asyncio.run(seed_app_home(Path(home), targets, deployments))
            results[name] = _child("idle_app", home)["rss_mb"]
    return results


def _storm_figures(mix: str, gc_mode: str) -> dict[str, float]:
    """One storm (``mix``: mixed | audited; ``gc_mode``: app | cpython) in this process."""
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop, tempfile.TemporaryDirectory() as home:
            stall = loop.run_until_complete(
                _run_storm(Path(home), mix == "audited", gc_mode == "app"))
    finally:
        asyncio.set_event_loop(None)
    return {f"{mix}_{gc_mode}": round(stall, 1)}


async def _run_storm(home: Path, audited_only: bool, app_gc: bool) -> float:
    from PySide6.QtCore import QEvent, QSettings
    from PySide6.QtWidgets import QApplication, QMainWindow

    from tests.support.activity import audit_rows, seed_audit
    from tests.support.auth import PASSWORD, build_services
    from windflow_desktop.events import LocalBus
    from windflow_desktop.gc_policy import GcPolicy
    from windflow_desktop.repositories.sql.backend import SqlBackend
    from windflow_desktop.services.activity import ActivityService
    from windflow_desktop.stores.activity import NOT_AUDITED, ActivityStore
    from windflow_desktop.stores.event_bridge import EventBridge
    from windflow_desktop.stores.notifications import NotificationsStore
    from windflow_desktop.stores.session import SessionStore
    from windflow_desktop.ui.tray import TrayController
    from windflow_desktop.ui.views.activity import ActivityPage
    from windflow_desktop.ui.views.notifications import NotificationCentre

    backend = SqlBackend(f"sqlite+aiosqlite:///{home / 'workspace.db'}")
    await backend.open()
    services = build_services(backend)
    session = SessionStore(services.auth)
    await session.setup(username="ada", email="ada@example.test", password=PASSWORD,
                        organization_name="Acme")
    principal = session.principal
    assert principal is not None and principal.organization_id is not None
    await seed_audit(backend, audit_rows(principal.organization_id, [principal.user_id], 1000))
    settings = QSettings(str(home / "ui.ini"), QSettings.Format.IniFormat)
    activity = ActivityStore(session, ActivityService(services.users.ctx))
    window = QMainWindow()
    page = ActivityPage(activity, settings)
    window.setCentralWidget(page)
    window.resize(1180, 740)
    window.show()
    await activity.load()
    while activity.has_more and activity.row_count < 1000:
        task = activity.fetch_more()
        if task is not None:
            await task
    notifications = NotificationsStore(settings, organization_id=str(principal.organization_id))
    centre = NotificationCentre(notifications)
    centre.resize(400, 440)
    centre.show()
    tray = TrayController(window, notifications, centre, settings, tray_available=False)

    bus = LocalBus()
    bridge = EventBridge(bus)
    bridge.sig_events_received.connect(activity.apply_events)
    bridge.sig_events_received.connect(notifications.apply_events)
    await bus.start()
    events = _storm(str(principal.organization_id), str(principal.user_id), STORM_EVENTS,
                    audited_only)
    expected = page.model.rowCount() + sum(e.event_type not in NOT_AUDITED for e in events)

    policy = GcPolicy()  # the app's defaults
    if app_gc:  # as app.py does once its workspace is open (see the module doc)
        policy.start()
        policy.watch(bridge.sig_events_received)
        for store in (session, activity):
            policy.watch(store.sig_busy_changed)
    all_in = asyncio.Event()
    model = page.model
    model.rowsInserted.connect(
        lambda *_: all_in.set() if model.rowCount() >= expected else None)
    watch = FullCollections()
    gc.callbacks.append(watch)
    timer, ticks = cpu_ticker()
    timer.start()
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    ticks.append((started, time.thread_time()))
    await bus.publish_many(events)
    if page.model.rowCount() < expected:
        await all_in.wait()
    await asyncio.sleep(0.05)  # the last paint
    finished = time.perf_counter()
    timer.stop()
    gc.callbacks.remove(watch)
    ticks.append((finished, time.thread_time()))
    stall_ms = max_gap_ms([wall for wall, _ in ticks], started, finished)
    cpu_ms = max_cpu_gap_ms(ticks, started, finished)
    full = watch.within(started, finished)
    print(f"# storm ({'audited' if audited_only else 'mixed'}, "
          f"{'app' if app_gc else 'cpython'} GC, {policy.collections} policy collections):"
          f" {STORM_EVENTS} events, "
          f"{page.model.rowCount()} rows, {len(notifications.recent)} recent notifications, "
          f"{bridge.batch_count} batches in {(finished - started) * 1000:.0f} ms, "
          f"longest stall {stall_ms:.1f} ms ({cpu_ms:.1f} ms of CPU), {len(full)} full "
          f"collections (longest {max(full, default=0):.1f} ms)", flush=True)

    policy.stop()
    bridge.close()
    tray.close()
    await bus.close()
    await activity.shutdown()
    await session.shutdown()
    await backend.close()
    # Delete the widgets while the loop runs: left to interpreter shutdown, PySide can
    # crash in its garbage collection (``none_dealloc``).
    for widget in (centre, window):
        widget.close()
        widget.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    return stall_ms


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # PySide6 6.12.0 on CPython 3.11 returns None from void methods (``QWidget.update()``,
    # ``QLabel.setText()``, ``fetchMore()``, an invalid ``QModelIndex.data()``) without a
    # new reference: each call takes one reference from None, and after enough calls the
    # process dies with "none_dealloc". Lend None references so the run can finish; the
    # app itself needs PySide6 != 6.12.0 or Python >= 3.12 (immortal None).
    _mode = sys.argv[1]
    # (not in the app whose memory is measured: 32 MB of borrowed references)
    _NONE_REFS = [None] * (4_000_000 if _mode != "idle_app" else 0)
    if _mode == "storm":
        _figures = _storm_figures(*sys.argv[2:4])
    elif _mode == "two_instances":
        from . import two_instances_child

        _figures = two_instances_child.run()
    else:
        from . import ui_support

        _figures = ui_support.run_mode(_mode, sys.argv[2:])
    print(json.dumps(_figures), flush=True)
    sys.stderr.flush()
    os._exit(0)
