"""The Dashboard's three tables keep their column widths across a new page instance, the
way a restart builds one: the same ``QSettings`` file (a temporary one, never the user's),
one key per table, through the list pages' shared header memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QTableView

from tests.support.auth import PASSWORD
from tests.support.qt import Workspace
from windflow_desktop.services.common import ServiceContext
from windflow_desktop.services.dashboard import DashboardService
from windflow_desktop.stores.dashboard import DashboardStore
from windflow_desktop.ui.views.dashboard import DashboardPage

pytestmark = pytest.mark.gui

# table attribute, settings key, an interactive (not stretched) column, a width unlike
# that column's default
RESIZED = (
    ("deployments_table", "dashboard/recent", 2, 187),
    ("health_table", "dashboard/health", 1, 143),
    ("activity_table", "dashboard/activity", 1, 209),
)


@pytest.fixture
def store(workspace: Workspace) -> Iterator[DashboardStore]:
    ws = workspace
    ws.run(ws.session.setup(username="ada", email="ada@example.test", password=PASSWORD,
                            organization_name="Acme"))
    svc = ws.services
    dashboard = DashboardStore(ws.session, DashboardService(
        ServiceContext(svc.backend, svc.bus, clock=svc.clock)))
    try:
        yield dashboard
    finally:
        ws.run(dashboard.shutdown())


def settings_at(path: Path) -> QSettings:
    return QSettings(str(path), QSettings.Format.IniFormat)


def show_page(qtbot: Any, store: DashboardStore, settings: QSettings) -> DashboardPage:
    page = DashboardPage(store, settings)
    page.resize(1100, 700)
    page.show()
    qtbot.waitExposed(page)
    qtbot.waitUntil(lambda: store.loaded and not store.busy, timeout=10_000)
    return page


def table(page: DashboardPage, name: str) -> QTableView:
    view = getattr(page, name)
    assert isinstance(view, QTableView)
    return view


def test_dashboard_tables_keep_column_widths_across_pages(
        qtbot: Any, store: DashboardStore, tmp_path: Path) -> None:
    path = tmp_path / "ui.ini"
    settings = settings_at(path)
    first = show_page(qtbot, store, settings)
    for name, _key, column, width in RESIZED:
        header = table(first, name).horizontalHeader()
        assert header.sectionSize(column) != width  # the test proves a change
        header.resizeSection(column, width)
    # Closing the page saves at once (no 400 ms debounce to wait for); then it is gone.
    first.close()
    with qtbot.waitSignal(first.destroyed, timeout=3000):
        first.deleteLater()
    assert not shiboken6.isValid(first)
    del first
    settings.sync()
    del settings

    on_disk = settings_at(path)
    assert {key for _name, key, _c, _w in RESIZED} <= set(on_disk.allKeys())
    again = show_page(qtbot, store, on_disk)
    qtbot.addWidget(again)
    for name, _key, column, width in RESIZED:
        assert table(again, name).horizontalHeader().sectionSize(column) == width, name
