"""The Dashboard page over a real workspace (SQLite file, real services, a LocalBus and
the EventBridge): counts and lists after sign-in, live updates from event batches (a
patch without I/O at once, then one reload), row-exact model changes, opening objects,
accessible names; every table model passes ``qtmodeltester``."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QTableView

from tests.support.auth import PASSWORD
from tests.support.qt import Workspace
from windflow_desktop.domain.enums import DeploymentStatus, TargetStatus
from windflow_desktop.domain.events import Event
from windflow_desktop.domain.identity import Principal
from windflow_desktop.domain.models import Deployment, Target
from windflow_desktop.events import LocalBus
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.dashboard import DashboardService
from windflow_desktop.services.stacks import StackService
from windflow_desktop.stores.dashboard import DashboardStore
from windflow_desktop.stores.event_bridge import EventBridge
from windflow_desktop.ui.models.base import ROW_ROLE
from windflow_desktop.ui.views.dashboard import DashboardPage

pytestmark = pytest.mark.gui
COMPOSE = "services:\n  web:\n    image: localhost/busybox\n"


@dataclass
class Board:
    ws: Workspace
    bus: LocalBus
    bridge: EventBridge
    store: DashboardStore
    page: DashboardPage
    stacks: StackService
    principal: Principal

    @property
    def org(self) -> uuid.UUID:
        assert self.principal.organization_id is not None
        return self.principal.organization_id


@pytest.fixture
def board(workspace: Workspace, qtbot: Any) -> Iterator[Board]:
    ws = workspace
    ws.run(ws.session.setup(username="ada", email="ada@example.test", password=PASSWORD,
                            organization_name="Acme", full_name="Ada Lovelace"))
    principal = ws.session.principal
    assert principal is not None and principal.organization_id is not None
    backend = ws.services.backend

    async def seed() -> None:
        async with backend.unit_of_work() as uow:
            for name, status in (("web-1", TargetStatus.ONLINE), ("web-2", TargetStatus.ONLINE),
                                 ("edge", TargetStatus.OFFLINE)):
                await uow.targets.add(Target(organization_id=principal.organization_id,
                                             name=name, status=status))
            await uow.commit()

    ws.run(seed())
    bus = LocalBus()
    ws.run(bus.start())
    bridge = EventBridge(bus)
    ctx = ServiceContext(backend, bus)
    store = DashboardStore(ws.session, DashboardService(ctx))
    bridge.sig_events_received.connect(store.apply_events)
    page = DashboardPage(store)
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    qtbot.waitUntil(lambda: store.loaded and not store.busy, timeout=10_000)
    yield Board(ws, bus, bridge, store, page, StackService(ctx), principal)
    bridge.close()
    ws.run(store.shutdown())
    ws.run(bus.close())


def cells(table: QTableView, column: int) -> list[str]:
    model = table.model()
    return [model.index(r, column).data() for r in range(model.rowCount())]


def test_first_load_counts_lists_and_names(board: Board, qtmodeltester: Any) -> None:
    page = board.page
    assert page.online_card.value == "2 / 3"
    assert page.offline_card.value == "1"
    assert page.stacks_card.value == "0"
    assert page.running_card.value == "0" and page.failed_card.value == "0"
    # the health list: the offline target first
    assert cells(page.health_table, 1) == ["edge", "web-1", "web-2"]
    assert cells(page.health_table, 0) == ["offline", "online", "online"]
    assert page.deployments_empty.isVisibleTo(page)
    assert not page.health_empty.isVisibleTo(page)
    # setup audited the organization and the owner
    assert page.activity_model.rowCount() >= 1
    for model in (page.deployments_model, page.health_model, page.activity_model):
        qtmodeltester.check(model)
    for widget in (*page.cards, page.deployments_table, page.health_table,
                   page.activity_table, page.refresh_button):
        assert widget.accessibleName(), widget
    for button in page.findChildren(QAbstractButton):
        if button.isVisibleTo(page):
            assert button.accessibleName() or button.text(), button


def test_live_batch_patches_at_once_then_reloads_once(board: Board, qtbot: Any,
                                                      qtmodeltester: Any) -> None:
    store, page, ws = board.store, board.page, board.ws

    # a deployment running now (stored directly, then announced as the service would)
    async def add_deployment() -> Deployment:
        stack, rev = await board.stacks.create_stack(board.principal, name="Shop",
                                                     compose_yaml=COMPOSE)
        async with ws.services.backend.unit_of_work() as uow:
            target = (await uow.targets.list(board.org, _page())).items[0]
            dep = await uow.deployments.add(Deployment(
                organization_id=board.org, stack_id=stack.id, revision_id=rev.id,
                target_id=target.id, project_name="shop-x", status=DeploymentStatus.RUNNING))
            await uow.commit()
        await board.bus.publish(Event("deployment.created", "deployment", str(dep.id),
                                      {"status": "running"}, organization_id=str(board.org)))
        return dep

    reloads = store.reload_count
    dep = ws.run(add_deployment())
    qtbot.waitUntil(lambda: page.running_card.value == "1" and page.stacks_card.value == "1",
                    timeout=5_000)
    assert cells(page.deployments_table, 1) == ["Shop"]
    assert store.reload_count > reloads
    qtbot.waitUntil(lambda: not store.busy, timeout=5_000)
    qtmodeltester.check(page.deployments_model)

    # the deployment finishes: the row changes in place, at once (no I/O) ...
    inserted: list[Any] = []
    changed: list[Any] = []
    page.deployments_model.rowsInserted.connect(lambda *a: inserted.append(a))
    page.deployments_model.dataChanged.connect(lambda a, b, *r: changed.append((a.row(),
                                                                                b.row())))
    page.deployments_model.modelReset.connect(lambda: pytest.fail("no reset for a row"))
    reloads = store.reload_count
    finished = Event("deployment.finished", "deployment", str(dep.id),
                     {"status": "failed", "error": "exit 3"}, organization_id=str(board.org))
    store.apply_events([finished])
    assert cells(page.deployments_table, 0) == ["failed"]
    assert changed == [(0, 0)] and inserted == []
    row = page.deployments_model.index(0, 0).data(ROW_ROLE)
    assert row.error == "exit 3"
    # ... and ONE reload brings the counts (the service reads the stored row)
    ws.run(_set_status(ws, dep.id, DeploymentStatus.FAILED))
    store.apply_events([finished])  # a second batch while the first reload runs
    qtbot.waitUntil(lambda: not store.busy, timeout=5_000)
    assert store.reload_count - reloads <= 2  # one per batch at most, never a queue
    assert page.failed_card.value == "1" and page.running_card.value == "0"

    # a target goes offline: the health list patches and re-orders by moving a row
    web1 = next(h for h in store.summary.health if h.name == "web-1")  # type: ignore[union-attr]
    moved: list[Any] = []
    page.health_model.rowsMoved.connect(lambda *a: moved.append(a))
    ws.run(_set_target(ws, web1.id, TargetStatus.ERROR))
    store.apply_events([Event(
        "target.status_changed", "target", str(web1.id),
        {"name": "web-1", "from": "online", "to": "error"}, organization_id=str(board.org))])
    # at once: the status in its row, and the event on top of the activity
    assert cells(page.health_table, 0) == ["offline", "error", "online"]
    assert page.activity_model.index(0, 1).data() == "Target status changed"
    qtmodeltester.check(page.activity_model)
    # after the reload: worst first (a move, not a reset) and the new count
    qtbot.waitUntil(lambda: cells(page.health_table, 1)[0] == "web-1", timeout=5_000)
    assert cells(page.health_table, 0) == ["error", "offline", "online"]
    assert page.offline_card.value == "2"
    assert moved, "re-ordered by a move, not a reset"
    qtmodeltester.check(page.health_model)


def test_other_organizations_events_are_ignored(board: Board, qtbot: Any) -> None:
    store = board.store
    reloads = store.reload_count
    store.apply_events([Event("stack.created", "stack", str(uuid.uuid4()), {"name": "x"},
                              organization_id=str(uuid.uuid4()))])
    assert not store.busy and store.reload_count == reloads


def test_opening_cards_and_rows(board: Board, qtbot: Any) -> None:
    page = board.page
    opened: list[tuple[str, str]] = []
    page.sig_open_object.connect(lambda kind, oid: opened.append((kind, oid)))
    qtbot.mouseClick(page.stacks_card, Qt.MouseButton.LeftButton)
    page.offline_card.setFocus()
    qtbot.keyClick(page.offline_card, Qt.Key.Key_Return)
    index = page.health_model.index(0, 1)
    page.health_table.activated.emit(index)
    assert opened[:2] == [("stack", ""), ("target", "")]
    assert opened[2] == ("target", str(index.data(ROW_ROLE).id))


def test_sign_out_clears_and_sign_in_reloads(board: Board, qtbot: Any) -> None:
    ws, store, page = board.ws, board.store, board.page
    ws.run(ws.session.logout())
    assert store.summary is None and page.health_model.rowCount() == 0
    ws.run(ws.session.login("ada", PASSWORD))
    qtbot.waitUntil(lambda: store.loaded, timeout=10_000)
    assert page.online_card.value == "2 / 3"


def _page() -> Any:
    from windflow_desktop.domain.paging import PageRequest

    return PageRequest(limit=10)


async def _set_status(ws: Workspace, dep_id: uuid.UUID, status: DeploymentStatus) -> None:
    async with ws.services.backend.unit_of_work() as uow:
        dep = await uow.deployments.get(dep_id)
        dep.status = status
        await uow.deployments.save(dep)
        await uow.commit()


async def _set_target(ws: Workspace, target_id: uuid.UUID, status: TargetStatus) -> None:
    async with ws.services.backend.unit_of_work() as uow:
        target = await uow.targets.get(target_id)
        target.status = status
        await uow.targets.save(target)
        await uow.commit()


class GatedDashboardService(DashboardService):
    """The real service, with a gate after the read: a test can change the data while a
    reload is in flight (the read it returns is then stale)."""

    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx)
        self.gate = asyncio.Event()
        self.reads = 0

    async def summary(self, principal: Principal, **kw: Any) -> Any:
        result = await super().summary(principal, **kw)
        self.reads += 1
        await self.gate.wait()
        return result


def test_a_batch_during_a_reload_gets_one_more_reload(board: Board, qtbot: Any) -> None:
    ws = board.ws
    service = GatedDashboardService(ServiceContext(ws.services.backend, board.bus))
    service.gate.set()
    store = DashboardStore(ws.session, service)
    try:
        qtbot.waitUntil(lambda: store.loaded and not store.busy, timeout=10_000)
        assert store.summary is not None and store.summary.stacks == 0
        service.gate.clear()
        reads = service.reads
        event = Event("stack.created", "stack", str(uuid.uuid4()), {"name": "x"},
                      organization_id=str(board.org))
        store.apply_events([event])
        qtbot.waitUntil(lambda: service.reads == reads + 1, timeout=5_000)  # read, held
        ws.run(board.stacks.create_stack(board.principal, name="Late", compose_yaml=COMPOSE))
        store.apply_events([event])  # arrives while the stale read is in flight
        assert store.loading
        service.gate.set()
        qtbot.waitUntil(lambda: not store.busy, timeout=5_000)
        assert service.reads == reads + 2  # exactly one more, not one per batch
        assert store.summary.stacks == 1, "the last state was read"
    finally:
        ws.run(store.shutdown())
