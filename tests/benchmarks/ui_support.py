"""The child-process halves of the UI benchmarks in ``bench_ui`` (log flood, opening the
Deployments page over 100,000 rows, the idle app's memory) and their seeding helpers.

``run_mode(mode, args)`` runs one in this process and returns its figures.
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import keyring.backend

from tests.benchmarks.stall import max_gap_ms, ticker
from windflow_desktop.domain.enums import (
    DeploymentStage,
    DeploymentStatus,
    TargetKind,
    TargetStatus,
)
from windflow_desktop.domain.errors import TargetUnreachableError
from windflow_desktop.domain.events import Event
from windflow_desktop.domain.models import Target
from windflow_desktop.repositories.sql import tables as t
from windflow_desktop.repositories.sql.backend import SqlBackend

PASSWORD = "correct horse battery"
FLOOD_LINES_PER_S = 10_000
FLOOD_SECONDS = 5.0
FLOOD_EVENT_S = 0.05  # the pipeline's LogWriter publishes a stored batch every 50 ms
OPEN_DEPLOYMENTS = 100_000
LOG_WORDS = ("GET", "POST", "/api/items", "/api/orders", "/healthz", "200", "201", "304",
             "ms", "cache", "hit", "miss", "worker", "ready")


class FileKeyring(keyring.backend.KeyringBackend):
    """A keyring in a JSON file: carries the remembered session from the seeding process
    to the app's process (benchmarks only; no system keyring on a CI machine)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def _load(self) -> dict[str, str]:
        try:
            data: dict[str, str] = json.loads(self.path.read_text(encoding="utf-8"))
            return data
        except FileNotFoundError:
            return {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}\0{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data[f"{service}\0{username}"] = password
        self.path.write_text(json.dumps(data), encoding="utf-8")

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        data.pop(f"{service}\0{username}", None)
        self.path.write_text(json.dumps(data), encoding="utf-8")


async def bulk_fleet(backend: SqlBackend, org_id: uuid.UUID, user_id: uuid.UUID, *,
                     targets: int, deployments: int, stacks: int = 20) -> list[uuid.UUID]:
    """``targets`` targets, ``stacks`` stacks and ``deployments`` deployments of ``org_id``
    straight into the tables (core inserts: seconds, not minutes). Returns target ids."""
    rnd = random.Random(42)
    now = datetime.now(UTC)
    target_rows = [
        {"id": uuid.uuid4(), "organization_id": org_id, "name": f"host-{i:04d}",
         "kind": TargetKind.SSH, "host": f"10.{i // 250}.{i % 250}.{10 + i % 200}", "port": 22,
         "username": "deploy", "auth": "key", "tls": {}, "labels": {"env": "prod"},
         "status": TargetStatus.ONLINE if i % 17 else TargetStatus.OFFLINE,
         "last_seen": now - timedelta(minutes=i % 90), "created_at": now, "updated_at": now}
        for i in range(max(targets, 1 if deployments else 0))
    ]
    stack_rows: list[dict[str, Any]] = []
    revision_rows: list[dict[str, Any]] = []
    for i in range(stacks if deployments else 0):
        sid = uuid.uuid4()
        stack_rows.append({"id": sid, "organization_id": org_id, "name": f"Stack {i:02d}",
                           "slug": f"stack-{i:02d}", "description": "", "tags": ["bench"],
                           "current_revision": 1, "created_at": now, "updated_at": now})
        revision_rows.append({"id": uuid.uuid4(), "stack_id": sid, "number": 1,
                              "compose_yaml": "services:\n  web:\n    image: nginx\n",
                              "variables": [], "author_id": user_id, "message": "first",
                              "created_at": now})
    statuses = [DeploymentStatus.SUCCEEDED] * 8 + [
        DeploymentStatus.FAILED, DeploymentStatus.ROLLED_BACK, DeploymentStatus.STOPPED]
    async with backend.engine.begin() as conn:
        if target_rows:
            await conn.execute(t.targets.insert(), target_rows)
        if stack_rows:
            await conn.execute(t.stacks.insert(), stack_rows)
            await conn.execute(t.stack_revisions.insert(), revision_rows)
        batch: list[dict[str, Any]] = []
        for i in range(deployments):
            rev = revision_rows[i % len(revision_rows)]
            status = rnd.choice(statuses)
            created = now - timedelta(seconds=i * 315 + 60)
            batch.append({
                "id": uuid.uuid4(), "organization_id": org_id, "stack_id": rev["stack_id"],
                "revision_id": rev["id"], "target_id": target_rows[i % len(target_rows)]["id"],
                "project_name": f"wf-stack-{i % len(stack_rows):02d}-{i % 977:04x}",
                "variables": {"PORT": "8080"}, "status": status,
                "stage": DeploymentStage.DONE,
                "error": "health: api exited with code 1"
                if status is DeploymentStatus.FAILED else None,
                "actor_id": user_id, "started_at": created,
                "finished_at": created + timedelta(seconds=20 + i % 40), "created_at": created,
            })
            if len(batch) == 10_000:
                await conn.execute(t.deployments.insert(), batch)
                batch = []
        if batch:
            await conn.execute(t.deployments.insert(), batch)
    async with backend.engine.begin() as conn:
        from sqlalchemy import text

        await conn.execute(text("ANALYZE"))
    return [r["id"] for r in target_rows]


async def seed_app_home(home: Path, targets: int, deployments: int) -> None:
    """A workspace in ``home`` with an owner whose session is remembered (in the file
    keyring ``home/keyring.json``) and a fleet of that size."""
    from windflow_desktop.config import load_settings
    from windflow_desktop.security.secrets import SecretStore
    from windflow_desktop.workspace import Workspace

    settings = load_settings({"WINDFLOW_HOME": str(home)})
    workspace = Workspace(settings, secrets=SecretStore(FileKeyring(home / "keyring.json")))
    await workspace.open()
    try:
        auth = workspace.services.auth
        session = await auth.setup(username="alice", email="alice@acme.example",
                                   password=PASSWORD, organization_name="Acme Ops")
        await auth.remember(session)
        p = session.principal
        await bulk_fleet(workspace.backend, p.organization_id, p.user_id, targets=targets,
                         deployments=deployments)
    finally:
        await workspace.close()


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


# -- the children --------------------------------------------------------------------------


def run_mode(mode: str, args: list[str]) -> dict[str, float]:
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["windflow-bench"])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    if mode == "idle_app":
        return qasync.run(_idle_app(Path(args[0])))  # type: ignore[no-any-return]
    runner = {"log_flood": _log_flood, "deployments_open": _deployments_open}[mode]
    with tempfile.TemporaryDirectory() as home:
        return qasync.run(runner(Path(home)))  # type: ignore[no-any-return]


class _Unreachable:
    async def executor(self, target: Target) -> object:
        raise TargetUnreachableError(f"{target.name} cannot be reached")


async def _signed_in(home: Path) -> tuple[Any, Any, Any, Any]:
    """A SQLite workspace, its services (fast hashing), a signed-in session store, and a
    DeploymentService over an executor pool that reaches nothing."""
    from tests.support.auth import build_services
    from windflow_desktop.services.common import ServiceContext
    from windflow_desktop.services.deploy.core import DeploymentCore
    from windflow_desktop.services.deployments import DeploymentService
    from windflow_desktop.stores.session import SessionStore

    backend = SqlBackend(f"sqlite+aiosqlite:///{home / 'workspace.db'}")
    await backend.open()
    services = build_services(backend)
    session = SessionStore(services.auth)
    await session.setup(username="ada", email="ada@example.test", password=PASSWORD,
                        organization_name="Acme")
    ctx = ServiceContext(backend, services.bus)
    core = DeploymentCore(backend, services.bus, _Unreachable(),  # type: ignore[arg-type]
                                  services.secrets)
    return backend, services, session, DeploymentService(ctx, core, services.secrets)


async def _log_flood(home: Path) -> dict[str, float]:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMainWindow

    from windflow_desktop.events import LocalBus
    from windflow_desktop.stores.deployments import DeploymentsStore
    from windflow_desktop.stores.event_bridge import EventBridge
    from windflow_desktop.ui.views.deployments import DeploymentsPage

    backend, _services, session, service = await _signed_in(home)
    p = session.principal
    await bulk_fleet(backend, p.organization_id, p.user_id, targets=5, deployments=300)
    async with backend.engine.begin() as conn:  # the newest one is running, no log yet
        from sqlalchemy import text

        row = (await conn.execute(text(
            "SELECT id FROM deployments ORDER BY created_at DESC LIMIT 1"))).one()
    dep_id = uuid.UUID(str(row[0])) if not isinstance(row[0], uuid.UUID) else row[0]
    async with backend.unit_of_work() as uow:
        dep = await uow.deployments.get(dep_id)
        dep.status, dep.stage, dep.finished_at = (DeploymentStatus.RUNNING,
                                                  DeploymentStage.UP, None)
        await uow.deployments.save(dep)
        await uow.commit()

    async def no_targets(_p: Any) -> list[Target]:
        return []

    store = DeploymentsStore(session, service, no_targets)
    settings = QSettings(str(home / "ui.ini"), QSettings.Format.IniFormat)
    window = QMainWindow()
    page = DeploymentsPage(store, ui_settings=settings)
    window.setCentralWidget(page)
    window.resize(1180, 740)
    window.show()
    await store.load()
    await store.select(dep_id)
    bus = LocalBus()
    bridge = EventBridge(bus)
    bridge.sig_events_received.connect(store.apply_events)
    await bus.start()
    await asyncio.sleep(0.3)
    from windflow_desktop.gc_policy import GcPolicy

    policy = GcPolicy()  # the app's own, wired as app.py does once its workspace is open
    policy.start()
    policy.watch(bridge.sig_events_received)
    for busy in (store, session):
        policy.watch(busy.sig_busy_changed)

    org, actor = str(p.organization_id), str(p.user_id)
    rnd = random.Random(3)
    timer, ticks = ticker()
    timer.start()
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    sent = 0
    total = int(FLOOD_LINES_PER_S * FLOOD_SECONDS)
    while sent < total:
        due = min(total, int((time.perf_counter() - started) * FLOOD_LINES_PER_S) + 1)
        if due > sent:
            ts = datetime.now(UTC).isoformat()
            lines = [[seq, ts, "stdout",
                      f"web-1  | {ts[11:23]} {' '.join(rnd.choices(LOG_WORDS, k=9))} "
                      f"req={seq:07d} bytes={rnd.randrange(100, 99999)}"]
                     for seq in range(sent + 1, due + 1)]
            await bus.publish(Event("deployment.log", "deployment", str(dep_id),
                                    {"lines": lines}, organization_id=org, actor_id=actor))
            sent = due
        await asyncio.sleep(FLOOD_EVENT_S)
    while time.perf_counter() - started < FLOOD_SECONDS + 30:  # the rest reaches the log
        if page.log.line_count >= total:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)  # the last paint
    finished = time.perf_counter()
    timer.stop()
    stall = max_gap_ms(ticks, started, finished)
    shown = page.log.line_count
    print(f"# log flood: {sent} lines sent in {finished - started:.2f} s, {shown} shown, "
          f"{bridge.batch_count} bridge batches, longest stall {stall:.1f} ms", flush=True)
    policy.stop()
    bridge.close()
    await bus.close()
    await store.shutdown()
    await session.shutdown()
    await backend.close()
    _dispose(window)
    if shown < total:
        raise RuntimeError(f"only {shown} of {total} lines reached the log")
    return {"ui_log_flood_max_stall_ms": round(stall, 1),
            "ui_log_flood_lines_shown": float(shown)}


async def _deployments_open(home: Path) -> dict[str, float]:
    from PySide6.QtCore import QEvent, QObject, QSettings
    from PySide6.QtWidgets import QMainWindow

    from windflow_desktop.stores.deployments import DeploymentsStore
    from windflow_desktop.ui.views.deployments import DeploymentsPage

    backend, _services, session, _service = await _signed_in(home)
    p = session.principal
    seeded = time.perf_counter()
    await bulk_fleet(backend, p.organization_id, p.user_id, targets=50,
                     deployments=OPEN_DEPLOYMENTS)
    print(f"# seeded {OPEN_DEPLOYMENTS} deployments in {time.perf_counter() - seeded:.1f} s",
          flush=True)
    await backend.close()
    # A freshly opened workspace, as the app has at start.
    backend, _services, session, service = await _reopen(home, session)

    async def no_targets(_p: Any) -> list[Target]:
        return []

    class PaintWatch(QObject):
        def __init__(self, done: asyncio.Future[float], model: Any) -> None:
            super().__init__()
            self.done, self.model = done, model

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if (event.type() == QEvent.Type.Paint and self.model.rowCount() > 0
                    and not self.done.done()):
                self.done.set_result(time.perf_counter())
            return False

    window = QMainWindow()
    window.resize(1180, 740)
    window.show()
    settings = QSettings(str(home / "ui.ini"), QSettings.Format.IniFormat)
    await asyncio.sleep(0.2)
    gc.collect()
    gc.freeze()
    opens: list[float] = []
    for _ in range(3):
        store = DeploymentsStore(session, service, no_targets)
        loop = asyncio.get_running_loop()
        done: asyncio.Future[float] = loop.create_future()
        started = time.perf_counter()
        page = DeploymentsPage(store, ui_settings=settings)
        watch = PaintWatch(done, page.model)
        page.table.viewport().installEventFilter(watch)
        window.setCentralWidget(page)
        store.load()  # what the store does on sign-in
        shown = await asyncio.wait_for(done, 30)
        opens.append((shown - started) * 1000)
        print(f"# open: {page.model.rowCount()} rows shown after {opens[-1]:.0f} ms",
              flush=True)
        page.table.viewport().removeEventFilter(watch)
        await store.shutdown()
        await asyncio.sleep(0.1)
    gc.unfreeze()
    await session.shutdown()
    await backend.close()
    _dispose(window)
    return {"ui_deployments_100k_open_ms": round(max(opens), 1),
            "ui_deployments_100k_first_open_ms": round(opens[0], 1)}


async def _reopen(home: Path, old_session: Any) -> tuple[Any, Any, Any, Any]:
    from tests.support.auth import build_services
    from windflow_desktop.services.common import ServiceContext
    from windflow_desktop.services.deploy.core import DeploymentCore
    from windflow_desktop.services.deployments import DeploymentService
    from windflow_desktop.stores.session import SessionStore

    await old_session.shutdown()
    backend = SqlBackend(f"sqlite+aiosqlite:///{home / 'workspace.db'}")
    await backend.open()
    services = build_services(backend)
    session = SessionStore(services.auth)
    await session.login("ada", PASSWORD)
    ctx = ServiceContext(backend, services.bus)
    core = DeploymentCore(backend, services.bus, _Unreachable(),  # type: ignore[arg-type]
                                  services.secrets)
    return backend, services, session, DeploymentService(ctx, core, services.secrets)


async def _idle_app(home: Path) -> dict[str, float]:
    """The real app on ``home``; once signed in with every page loaded and idle, its RSS."""
    from windflow_desktop.app import WindFlowApp
    from windflow_desktop.config import load_settings
    from windflow_desktop.security.secrets import SecretStore

    settings = load_settings({"WINDFLOW_HOME": str(home)})
    app = WindFlowApp(settings, started=time.monotonic(),
                      secrets=SecretStore(FileKeyring(home / "keyring.json")),
                      watch_health=False)
    running = asyncio.ensure_future(app.run())
    deadline = time.monotonic() + 60
    while app.session is None or not app.session.signed_in:
        if running.done() or time.monotonic() > deadline:
            raise RuntimeError("the app did not sign in by its remembered session")
        await asyncio.sleep(0.05)
    window = app.window
    assert window is not None
    for page in ("dashboard", "targets", "stacks", "deployments", "containers",
                 "activity", "settings"):
        window.show_page(page)  # each page shown once, as a user looking around would
        await asyncio.sleep(0.5)
    for _ in range(300):  # until every store has finished loading (30 s at most)
        if not any(store.busy for store in app.stores.acting):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(3.0)  # idle
    samples = []
    for _ in range(5):
        samples.append(_rss_mb())
        await asyncio.sleep(0.2)
    rss = max(samples)
    deployments, targets = app.stores.deployments, app.stores.targets
    print(f"# idle app: {len(targets.targets)} targets, "
          f"{len(deployments.rows)} deployments loaded, "
          f"RSS {rss:.1f} MB", flush=True)
    app.quit_requested.set()
    await running
    return {"rss_mb": round(rss, 1)}


def _dispose(window: Any) -> None:
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    window.close()
    window.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()

