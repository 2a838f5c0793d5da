"""The Activity page over a real workspace: lazy keyset pages through ``fetchMore``, live
events prepended in one change per batch, filters, sorting, shortcuts, remembered
columns, accessible names; the table model passes ``qtmodeltester``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt

from tests.support.a11y import actionable_widgets
from tests.support.activity import audit_rows, live_events, seed_audit
from tests.support.auth import PASSWORD
from tests.support.qt import Workspace
from windflow_desktop.events import LocalBus
from windflow_desktop.services.activity import ActivityService
from windflow_desktop.stores.activity import ActivityStore
from windflow_desktop.stores.event_bridge import EventBridge
from windflow_desktop.ui.models.base import ROW_ROLE
from windflow_desktop.ui.views.activity import ActivityPage

pytestmark = pytest.mark.gui

SEEDED = 3000


@pytest.fixture
def signed_in(workspace: Workspace) -> Workspace:
    workspace.run(workspace.session.setup(
        username="ada", email="ada@example.test", password=PASSWORD,
        organization_name="Acme"))
    assert workspace.session.principal is not None
    return workspace


@pytest.fixture
def page(signed_in: Workspace, qtbot: Any, tmp_path: Path) -> ActivityPage:
    p = signed_in.session.principal
    assert p is not None and p.organization_id is not None
    signed_in.run(seed_audit(signed_in.services.backend,
                             audit_rows(p.organization_id, [p.user_id, None], SEEDED)))
    store = ActivityStore(signed_in.session, ActivityService(signed_in.services.users.ctx))
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    view = ActivityPage(store, settings)
    qtbot.addWidget(view)
    view.resize(1100, 640)
    view.show()
    qtbot.waitUntil(lambda: store.loaded and not store.busy, timeout=10_000)
    yield view
    signed_in.run(store.shutdown())


def total_rows(ws: Workspace) -> int:
    # the seeded rows plus what setup itself audited (organization/user created, sign-in)
    return SEEDED + 2


def test_lazy_pages_through_fetch_more(page: ActivityPage, signed_in: Workspace,
                                       qtmodeltester: Any, qtbot: Any) -> None:
    store, model = page.store, page.model
    assert model.rowCount() == 200  # one page; the viewport is full, nothing more asked
    assert model.canFetchMore(page.proxy.index(0, 0).parent())
    pages = 1
    while store.has_more:
        before = model.rowCount()
        page.table.scrollToBottom()
        qtbot.waitUntil(lambda b=before: model.rowCount() > b and not store.fetching,
                        timeout=10_000)
        pages += 1
        assert model.rowCount() - before <= 200
    assert model.rowCount() == total_rows(signed_in) >= SEEDED
    assert pages >= SEEDED // 200
    ids = [model.row(i).id for i in range(model.rowCount())]
    assert len(set(ids)) == len(ids)
    times = [model.row(i).ts for i in range(model.rowCount())]
    assert times == sorted(times, reverse=True)
    assert "events" in page.status_label.text()
    assert not model.canFetchMore(page.proxy.index(0, 0).parent())
    qtmodeltester.check(model)  # over all 3,000 rows (attached for every page, it takes 15 s)


def test_live_events_prepend_one_change_per_batch(page: ActivityPage, signed_in: Workspace,
                                                  qtbot: Any, arun: Any,
                                                  qtmodeltester: Any) -> None:
    p = signed_in.session.principal
    assert p is not None
    qtmodeltester.check(page.model)  # stays attached: the prepends are checked too
    bus = LocalBus()
    arun(bus.start())
    bridge = EventBridge(bus)
    bridge.sig_events_received.connect(page.store.apply_events)
    inserts: list[tuple[int, int]] = []
    page.model.rowsInserted.connect(lambda _p, first, last: inserts.append((first, last)))
    before = page.model.rowCount()
    noise = [e for e in live_events(p.organization_id, 3)]
    other_org = live_events("00000000-0000-0000-0000-000000000000", 5)
    progress = live_events(p.organization_id, 1, start=50)
    progress = [type(e)("deployment.log", "deployment", "x", {"line": "pulling"},
                        organization_id=e.organization_id) for e in progress]
    fresh = live_events(p.organization_id, 300, start=1000, actor_id=str(p.user_id))
    arun(bus.publish_many([*noise, *other_org, *progress, *fresh]))
    qtbot.waitUntil(lambda: page.model.rowCount() == before + 303, timeout=5000)
    assert len(inserts) == bridge.batch_count <= 3
    assert all(first == 0 for first, _last in inserts)
    top = page.model.row(0)
    assert top.id == fresh[-1].event_id  # newest first
    assert page.model.row(1).aggregate_id == fresh[-2].aggregate_id
    assert page.model.row(1).actor_name == "ada"
    # the table (sorted by time, newest first) shows it on top
    assert page.proxy.index(0, 0).data(ROW_ROLE).id == fresh[-1].event_id
    bridge.close()
    arun(bus.close())


def test_events_during_a_load_show_once(page: ActivityPage, signed_in: Workspace,
                                        qtbot: Any) -> None:
    p = signed_in.session.principal
    assert p is not None
    store = page.store
    task = store.load()
    store.apply_events(live_events(p.organization_id, 2, start=7000))
    qtbot.waitUntil(task.done, timeout=10_000)
    ids = [page.model.row(i).aggregate_id for i in range(page.model.rowCount())]
    assert ids.count("live-007000") == 1 and ids.count("live-007001") == 1


def test_filters_sort_menu_and_shortcuts(page: ActivityPage, signed_in: Workspace,
                                         qtbot: Any) -> None:
    store, model = page.store, page.model
    index = page.type_combo.findData("target.status_changed")
    page.type_combo.setCurrentIndex(index)
    page.type_combo.activated.emit(index)
    qtbot.waitUntil(lambda: not store.busy and model.rowCount() > 0, timeout=10_000)
    assert {model.row(i).type for i in range(model.rowCount())} == {"target.status_changed"}
    assert page.clear_button.isEnabled()

    # "Show only this object" from the context menu
    entry = model.row(0)
    menu = page.build_context_menu(entry)
    show_only = next(a for a in menu.actions() if a.text().startswith("Show only target"))
    show_only.trigger()
    qtbot.waitUntil(lambda: not store.busy, timeout=10_000)
    assert {model.row(i).aggregate_id for i in range(model.rowCount())} == \
        {entry.aggregate_id}
    assert page.object_chip.isVisible() and entry.data["name"] in page.object_chip.text()
    opened: list[tuple[str, str]] = []
    page.sig_open_object.connect(lambda t, i: opened.append((t, i)))
    next(a for a in menu.actions() if a.text().startswith("Open")).trigger()
    assert opened == [("target", entry.aggregate_id)]
    menu.close()

    page.clear_button.click()
    qtbot.waitUntil(lambda: not store.busy and model.rowCount() == 200, timeout=10_000)
    assert not page.object_chip.isVisible() and not page.clear_button.isEnabled()

    # server-side search from the filter box (debounced)
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow, timeout=2000)
    qtbot.keyClick(page, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert page.filter_edit.hasFocus()
    qtbot.keyClicks(page.filter_edit, "dep-00001")
    qtbot.waitUntil(lambda: store.search == "dep-00001" and not store.busy, timeout=5000)
    assert model.rowCount() > 0
    assert all("dep-00001" in model.row(i).aggregate_id for i in range(model.rowCount()))

    # F5 reloads
    reloads: list[int] = []
    store.sig_rows_reset.connect(lambda: reloads.append(1))
    qtbot.keyClick(page.table, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: bool(reloads) and not store.busy, timeout=5000)

    # sorting by "By" over the loaded rows
    page.table.sortByColumn(4, Qt.SortOrder.AscendingOrder)
    shown = [page.proxy.index(r, 4).data() for r in range(page.proxy.rowCount())]
    assert shown == sorted(shown, key=lambda s: "" if s == "System" else s.lower())


def test_columns_and_sort_remembered(page: ActivityPage, qtbot: Any, tmp_path: Path) -> None:
    header = page.table.horizontalHeader()
    header.resizeSection(2, 260)
    page.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
    page.save_state()
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    again = ActivityPage(page.store, settings)
    qtbot.addWidget(again)
    assert again.table.horizontalHeader().sectionSize(2) == 260
    assert again.table.horizontalHeader().sortIndicatorSection() == 1
    assert again.table.horizontalHeader().sortIndicatorOrder() == Qt.SortOrder.AscendingOrder


def test_every_actionable_widget_has_an_accessible_name(page: ActivityPage) -> None:
    widgets = actionable_widgets(page)
    assert len(widgets) >= 9
    unnamed = [w for w in widgets if not w.accessibleName()]
    assert not unnamed, unnamed
    menu = page.build_context_menu(page.model.row(0))
    assert menu.accessibleName() and all(a.text() for a in menu.actions()
                                         if not a.isSeparator())
