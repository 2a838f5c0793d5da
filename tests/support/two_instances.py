"""Two instances of the app's graph on one PostgreSQL database and one Redis — each a real
``Workspace`` (its own home folder, so its own client id and Redis consumer group) with
the bridge, the stores and the pages the window binds. Shared by the two-instance test
and its benchmark (``ui_two_instances``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QApplication

from tests.env.keyring_backend import MemoryKeyring
from tests.support.qt import _spin_until
from windflow_desktop.config import load_settings
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.stores.dashboard import DashboardStore
from windflow_desktop.stores.event_bridge import EventBridge
from windflow_desktop.stores.session import SessionStore
from windflow_desktop.stores.stacks import StacksStore
from windflow_desktop.stores.targets import TargetsStore
from windflow_desktop.ui.views.stacks import StacksPage
from windflow_desktop.ui.views.targets import TargetsPage
from windflow_desktop.workspace import Workspace

PASSWORD = "correct horse battery"
COMPOSE = "services:\n  web:\n    image: localhost/busybox\n"


@dataclass
class Instance:
    """What ``WindFlowApp._bind`` builds, minus the window chrome."""

    workspace: Workspace
    bridge: EventBridge
    session: SessionStore
    targets: TargetsStore
    stacks: StacksStore
    dashboard: DashboardStore
    targets_page: TargetsPage
    stacks_page: StacksPage

    @property
    def stores(self) -> tuple[Any, ...]:
        return (self.session, self.targets, self.stacks, self.dashboard)


def spin_until(done: Callable[[], bool], timeout_s: float) -> float:
    """Process Qt (and so qasync) events until ``done()``; the seconds it took."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    return _spin_until(app, done, timeout_s)


def open_instance(home: Path, database_url: str, redis_url: str, run: Any) -> Instance:
    home.mkdir()
    settings = load_settings({"WINDFLOW_HOME": str(home),
                              "WINDFLOW_DATABASE_URL": database_url,
                              "WINDFLOW_REDIS_URL": redis_url})
    workspace = Workspace(settings, secrets=SecretStore(MemoryKeyring()))
    run(workspace.open())
    services = workspace.services
    bridge = EventBridge(workspace.bus)
    session = SessionStore(services.auth)
    targets = TargetsStore(services.targets, session)
    stacks = StacksStore(session, services.stacks)
    dashboard = DashboardStore(session, services.dashboard)
    for store in (targets, stacks, dashboard):
        bridge.sig_events_received.connect(store.apply_events)
    targets_page, stacks_page = TargetsPage(targets), StacksPage(stacks)
    run(workspace.start_bus())
    return Instance(workspace, bridge, session, targets, stacks, dashboard, targets_page,
                    stacks_page)


def close_instance(instance: Instance, run: Any) -> None:
    instance.bridge.close()
    for store in reversed(instance.stores):
        run(store.shutdown())
    run(instance.workspace.close())
    for page in (instance.targets_page, instance.stacks_page):
        page.close()
        page.deleteLater()


def sign_in_both(a: Instance, b: Instance, run: Any) -> None:
    """The first owner set up in ``a``, then signed in to ``b``; both tables loaded."""
    run(a.session.setup(username="alice", email="alice@example.test", password=PASSWORD,
                        organization_name="Acme"))
    run(b.session.login("alice", PASSWORD))
    spin_until(lambda: a.targets.loaded and b.targets.loaded and not b.targets.busy
               and not b.stacks.busy, 10)
