"""Teams on one Redis: two instances of the app's graph — each a real ``Workspace`` (its
own home folder, so its own client id and Redis consumer group) with the bridge, the
stores and the pages the window binds — share one real PostgreSQL database and one real
Redis. A target and a stack created in one are in the other's table model within one
second — measured here from the moment the first instance's action STARTS (so the bound
covers its own commit too) until the row is in the other instance's model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from tests.env.keyring_backend import MemoryKeyring
from tests.env.postgres import PostgresServer
from tests.support.qt import arun, qloop  # noqa: F401 - fixtures (qasync loop on Qt)
from windflow_desktop.config import load_settings
from windflow_desktop.domain.enums import TargetKind
from windflow_desktop.domain.targets import TargetSpec
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.stores.dashboard import DashboardStore
from windflow_desktop.stores.event_bridge import EventBridge
from windflow_desktop.stores.session import SessionStore
from windflow_desktop.stores.stacks import StacksStore
from windflow_desktop.stores.targets import TargetsStore
from windflow_desktop.ui.views.stacks import StacksPage
from windflow_desktop.ui.views.targets import TargetsPage
from windflow_desktop.workspace import Workspace, client_id

pytestmark = [pytest.mark.postgres, pytest.mark.gui]

PASSWORD = "correct horse battery"
COMPOSE = "services:\n  web:\n    image: localhost/busybox\n"
BOUND_S = 1.0


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
    assert app is not None
    start = time.monotonic()
    while not done():
        if time.monotonic() - start > timeout_s:
            raise TimeoutError(f"not done after {timeout_s} s")
        app.processEvents()
        time.sleep(0.001)
    return time.monotonic() - start


@pytest.fixture
def shared(postgres_server: PostgresServer, redis_url: str, arun: Any) -> Iterator[str]:  # noqa: F811
    """A fresh database on the test PostgreSQL (made on the qasync loop)."""
    url: str = arun(postgres_server.create_database())
    name = url.rsplit("/", 1)[1]
    yield url
    arun(postgres_server.drop_database(name))


def open_instance(home: Path, database_url: str, redis_url: str, run: Any,
                  qtbot: Any) -> Instance:
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
    qtbot.addWidget(targets_page)
    qtbot.addWidget(stacks_page)
    run(workspace.start_bus())
    return Instance(workspace, bridge, session, targets, stacks, dashboard, targets_page,
                    stacks_page)


def close_instance(instance: Instance, run: Any) -> None:
    instance.bridge.close()
    for store in reversed(instance.stores):
        run(store.shutdown())
    run(instance.workspace.close())


def test_a_change_in_one_instance_is_in_the_others_table_within_a_second(
    shared: str, redis_url: str, arun: Any, qtbot: Any, tmp_path: Path,  # noqa: F811
) -> None:
    a = open_instance(tmp_path / "alice-pc", shared, redis_url, arun, qtbot)
    b = open_instance(tmp_path / "bob-pc", shared, redis_url, arun, qtbot)
    try:
        assert client_id(tmp_path / "alice-pc") != client_id(tmp_path / "bob-pc")
        assert a.bridge.state.value == b.bridge.state.value == "connected"
        arun(a.session.setup(username="alice", email="alice@example.test",
                             password=PASSWORD, organization_name="Acme"))
        arun(b.session.login("alice", PASSWORD))
        spin_until(lambda: a.targets.loaded and b.targets.loaded and not b.targets.busy
                   and not b.stacks.busy, 10)
        assert b.targets_page.model.rowCount() == 0

        # 1. a target added in A
        task = a.targets.save(TargetSpec(name="build-box", kind=TargetKind.LOCAL))
        target_s = spin_until(lambda: task.done() and task.result() is not None and
                              b.targets_page.model.position(task.result().id) is not None, 5)
        target = task.result()
        row = b.targets_page.model.row(b.targets_page.model.position(target.id))
        assert row.name == "build-box"

        # 2. a stack created in A
        task = a.stacks.create(name="Shop", compose_yaml=COMPOSE, variables=[])
        stack_s = spin_until(lambda: any(s.name == "Shop" for s in b.stacks_page.model.rows()),
                             5)
        stack = arun(task)
        assert stack is not None and b.stacks_page.model.position(stack.id) is not None

        # 3. and back: B renames the target; A's table follows
        spec = TargetSpec.of(target)
        task = b.targets.save(TargetSpec(**{**spec.__dict__, "name": "build-box-2"}),
                              target_id=target.id)
        back_s = spin_until(
            lambda: (pos := a.targets_page.model.position(target.id)) is not None
            and a.targets_page.model.row(pos).name == "build-box-2", 5)
        assert arun(task) is not None

        # the dashboards of both follow too
        spin_until(lambda: b.dashboard.summary is not None
                   and b.dashboard.summary.stacks == 1
                   and b.dashboard.summary.targets.total == 1, 5)
        print(f"\ntwo instances: target {target_s * 1000:.0f} ms, stack {stack_s * 1000:.0f} ms,"
              f" back {back_s * 1000:.0f} ms")
        assert max(target_s, stack_s, back_s) < BOUND_S, (target_s, stack_s, back_s)
    finally:
        close_instance(b, arun)
        close_instance(a, arun)
