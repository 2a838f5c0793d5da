"""Render every page of the real app with realistic data into PNG files.

    python -m tests.screenshots [OUT_DIR]        (make screenshots: under Xvfb)

A fresh workspace is seeded through the services (owner, team, targets with scans,
stacks with revisions, deployments with logs and stages), the app starts on it with the
session remembered, and each page is grabbed once its data has loaded.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

from tests.env.keyring_backend import MemoryKeyring
from windflow_desktop.app import WindFlowApp
from windflow_desktop.config import load_settings
from windflow_desktop.domain.compose import project_name
from windflow_desktop.domain.enums import (
    DeploymentStage,
    DeploymentStatus,
    LogStream,
    Role,
    TargetAuth,
    TargetKind,
    TargetStatus,
)
from windflow_desktop.domain.models import (
    Deployment,
    DeploymentLog,
    DeploymentStageRecord,
    TargetCapability,
    utcnow,
)
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.ui.dialogs.deploy_stack import DeployDialog
from windflow_desktop.ui.main_window import PAGES, MainWindow
from windflow_desktop.ui.views.deployments import DeploymentsPage
from windflow_desktop.ui.views.notifications import Toast
from windflow_desktop.ui.views.stacks import StacksPage
from windflow_desktop.ui.views.targets import TargetsPage
from windflow_desktop.workspace import Workspace

PASSWORD = "correct horse battery"
SHOP = """services:
  web:
    image: nginx:1.27-alpine
    ports: ["${WEB_PORT:-8080}:80"]
    depends_on: [api]
  api:
    image: ghcr.io/acme/shop-api:${API_TAG:?set the API version}
    environment:
      DATABASE_URL: postgresql://shop:${DB_PASSWORD}@db/shop
  db:
    image: postgres:16
    volumes: [shop-data:/var/lib/postgresql/data]
volumes:
  shop-data: {}
"""
MONITORING = """services:
  prometheus:
    image: prom/prometheus:v2.53.0
    ports: ["9090:9090"]
  grafana:
    image: grafana/grafana:11.1.0
    ports: ["3000:3000"]
"""
TARGETS = [
    ("this computer", TargetKind.LOCAL, "", TargetStatus.ONLINE),
    ("web-01", TargetKind.SSH, "10.0.4.11", TargetStatus.ONLINE),
    ("web-02", TargetKind.SSH, "10.0.4.12", TargetStatus.ONLINE),
    ("db-01", TargetKind.SSH, "10.0.5.20", TargetStatus.ONLINE),
    ("edge-paris", TargetKind.SSH, "edge-paris.acme.example", TargetStatus.OFFLINE),
    ("build-farm", TargetKind.DOCKER_TCP, "build.acme.example", TargetStatus.ERROR),
]


async def seed(workspace: Workspace) -> None:
    s = workspace.services
    session = await s.auth.setup(username="alice", email="alice@acme.example",
                                 password=PASSWORD, organization_name="Acme Ops",
                                 full_name="Alice Martin")
    await s.auth.remember(session)
    owner = session.principal
    for name, role in (("dave", Role.ADMIN), ("carol", Role.OPERATOR), ("bob", Role.VIEWER)):
        await s.users.create_user(owner, username=name, email=f"{name}@acme.example",
                                  password=PASSWORD, role=role, full_name=name.title())
    rng = random.Random(7)
    targets = []
    for name, kind, host, status in TARGETS:
        spec = TargetSpec(name=name, kind=kind, host=host, port=22 if kind == TargetKind.SSH
                          else 2376 if kind == TargetKind.DOCKER_TCP else None,
                          username="deploy" if kind == TargetKind.SSH else "",
                          auth=TargetAuth.AGENT if kind == TargetKind.SSH else TargetAuth.NONE,
                          insecure=kind == TargetKind.DOCKER_TCP)
        targets.append((await s.targets.create_target(owner, spec), status))
    stacks = []
    for name, text, variables in (
        ("Shop", SHOP, [{"name": "API_TAG", "required": True},
                        {"name": "DB_PASSWORD", "secret": True, "required": True},
                        {"name": "WEB_PORT", "default": "8080"}]),
        ("Monitoring", MONITORING, []),
        ("Blog", MONITORING.replace("prometheus", "ghost").replace("grafana", "mysql"), []),
    ):
        stack, revision = await s.stacks.create_stack(
            owner, name=name, compose_yaml=text, variables=variables,
            description=f"{name} services",
            tags=["web", "production"] if name == "Shop" else ["ops"])
        stacks.append((stack, revision))
    now = utcnow()
    async with workspace.backend.unit_of_work() as uow:
        for target, status in targets:
            target.status, target.last_seen = status, now - timedelta(minutes=rng.randint(0, 90))
            await uow.targets.save(target)
            await uow.targets.set_capabilities(target.id, [
                TargetCapability(target.id, "docker", True, "27.3.1", {"api": "1.47"}),
                TargetCapability(target.id, "compose_v2", True, "2.29.7"),
                TargetCapability(target.id, "os", True, "Debian GNU/Linux 12"),
                TargetCapability(target.id, "cpus", True, str(rng.choice([2, 4, 8, 16]))),
                TargetCapability(target.id, "memory", True, f"{rng.choice([4, 8, 32])} GiB"),
            ])
        statuses = [DeploymentStatus.SUCCEEDED] * 6 + [
            DeploymentStatus.FAILED, DeploymentStatus.ROLLED_BACK, DeploymentStatus.STOPPED]
        for i in range(60):
            (stack, revision), (target, _s) = rng.choice(stacks), rng.choice(targets[:4])
            created = now - timedelta(minutes=17 * i + rng.randint(0, 9))
            status = (DeploymentStatus.RUNNING if i == 0 else DeploymentStatus.SUCCEEDED
                      if i == 1 else rng.choice(statuses))
            dep = Deployment(
                organization_id=owner.organization_id, stack_id=stack.id,
                revision_id=revision.id, target_id=target.id,
                project_name=project_name(stack.slug, stack.id, target.id),
                status=status, actor_id=owner.user_id, created_at=created,
                stage=DeploymentStage.PULL if i == 0 else DeploymentStage.DONE,
                started_at=created, finished_at=None if i == 0 else created + timedelta(
                    seconds=rng.randint(4, 40)),
                error="health: api exited with code 1" if status in (
                    DeploymentStatus.FAILED, DeploymentStatus.ROLLED_BACK) else None,
                # The running one is another machine's, alive: start-up leaves it alone.
                runner="build-server:4242:0a1b2c3d" if i == 0 else None,
                heartbeat_at=now if i == 0 else None)
            await uow.deployments.add(dep)
            stages = ["preflight", "validate", "pull"] + ([] if i == 0 else ["up", "health"])
            if i == 1:  # the one shown selected: stopped and started again since
                stages += ["done", "watch", "stop", "start"]
            for n, stage in enumerate(stages, start=1):
                await uow.deployments.save_stage(DeploymentStageRecord(
                    dep.id, n, stage, started_at=created + timedelta(seconds=2 * n),
                    finished_at=None if (i == 0 and stage == "pull")
                    else created + timedelta(seconds=2 * n + 1),
                    outcome="running" if (i == 0 and stage == "pull") else "succeeded"))
            await uow.deployments.append_logs([
                DeploymentLog(dep.id, seq, line, LogStream.STDOUT,
                              created + timedelta(milliseconds=40 * seq))
                for seq, line in enumerate([
                    "preflight: compose v2.29.7, 41 GiB free, ports 8080 free",
                    "validate: compose config ok (3 services)",
                    "pull: nginx:1.27-alpine present, skipped",
                    "pull: ghcr.io/acme/shop-api:2.4.1 downloading 38.2 MB",
                    " Container shop-db-1  Started", " Container shop-api-1  Started",
                    " Container shop-web-1  Started", "health: 3/3 services running",
                ], start=1)])
        await uow.commit()


def hide_toasts(window: QWidget) -> None:
    """A toast of the start-up reconciliation would cover the pages' corner."""
    for toast in window.findChildren(Toast):
        toast.hide()


async def prepare(window: MainWindow, key: str) -> None:
    """Show each page as a person looks at it: something chosen in its list."""
    page = window.page(key)
    if isinstance(page, TargetsPage) and page.model.rowCount():
        page.table.selectRow(0)
    elif isinstance(page, StacksPage) and page.model.rowCount():
        page.table.selectRow(page.model.rowCount() - 1)
    elif isinstance(page, DeploymentsPage) and page.model.rowCount() > 1:
        page.table.selectRow(1)
    await asyncio.sleep(0.8)


async def capture(out: Path, home: Path) -> list[Path]:
    keyring = MemoryKeyring()
    settings = load_settings({"WINDFLOW_HOME": str(home)})
    seeding = Workspace(settings, secrets=SecretStore(keyring))
    await seeding.open()
    await seed(seeding)
    await seeding.close()

    app = WindFlowApp(settings, started=time.monotonic(), secrets=SecretStore(keyring),
                      watch_health=False)
    running = asyncio.ensure_future(app.run())
    while app.session is None or not app.session.signed_in:
        await asyncio.sleep(0.05)
    window = app.window
    assert window is not None
    window.resize(1280, 800)
    shots = []
    for number, spec in enumerate(PAGES, start=1):
        window.show_page(spec.key)
        await asyncio.sleep(1.2)  # the page's store loads on the loop meanwhile
        await prepare(window, spec.key)
        hide_toasts(window)
        path = out / f"{number:02d}-{spec.key}.png"
        window.grab().save(str(path))
        shots.append(path)
    # the deploy dialog of the chosen stack
    window.show_page("stacks")
    stacks_page = window.page("stacks")
    assert isinstance(stacks_page, StacksPage)
    stacks_page.deploy_button.click()
    await asyncio.sleep(1.0)
    dialogs = [w for w in QApplication.topLevelWidgets()
               if isinstance(w, DeployDialog) and w.isVisible()]
    if dialogs:
        dialogs[0].targets.item(0).setCheckState(Qt.CheckState.Checked)
        await asyncio.sleep(0.3)
        path = out / f"{len(PAGES) + 1:02d}-deploy-dialog.png"
        dialogs[0].grab().save(str(path))
        shots.append(path)
        dialogs[0].reject()
    app.quit_requested.set()
    await running
    return shots


def main(argv: list[str]) -> int:
    import qasync

    out = Path(argv[0] if argv else "screenshots").resolve()
    out.mkdir(parents=True, exist_ok=True)
    qapp = QApplication(sys.argv[:1])
    qapp.setQuitOnLastWindowClosed(False)
    with tempfile.TemporaryDirectory() as home:
        shots = qasync.run(capture(out, Path(home)))
    for path in shots:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
