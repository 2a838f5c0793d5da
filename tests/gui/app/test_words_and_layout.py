"""Words and layout of the whole app at its default window size (1,180 x 740), over a
seeded workspace (the screenshots' data): one page header on every page, nothing clipped
(columns sized to their contents, elided hosts with the whole text as a tooltip, filter
boxes as wide as their placeholder, "Change role" with room for its arrow), the selected
sidebar icon visible on the highlight, the Settings blurb without a section that does
not exist, the dashboard's running caption, and the one plural/words helper."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QLineEdit, QTableView, QWidget
from pytestqt.qtbot import QtBot

from tests.env.keyring_backend import MemoryKeyring
from tests.screenshots import seed
from windflow_desktop.app import WindFlowApp
from windflow_desktop.config import load_settings
from windflow_desktop.domain.enums import DeploymentStatus
from windflow_desktop.domain.words import plural, words
from windflow_desktop.security.secrets import SecretStore
from windflow_desktop.ui.main_window import PAGES, MainWindow
from windflow_desktop.ui.views.dashboard import DashboardPage
from windflow_desktop.ui.views.stacks import StacksPage
from windflow_desktop.ui.views.targets import TargetsPage
from windflow_desktop.ui.views.users import UsersPage
from windflow_desktop.ui.widgets.list_tools import fits
from windflow_desktop.ui.widgets.page_header import TITLE_PIXELS, PageHeader
from windflow_desktop.workspace import Workspace

pytestmark = pytest.mark.gui
WAIT_MS = 30_000


@pytest.fixture
def window(qtbot: QtBot, qloop: Any, tmp_path: Path) -> Iterator[MainWindow]:
    keyring = MemoryKeyring()
    settings = load_settings({"WINDFLOW_HOME": str(tmp_path / "wf")})

    async def seeded() -> None:
        workspace = Workspace(settings, secrets=SecretStore(keyring))
        await workspace.open()
        try:
            await seed(workspace)
        finally:
            await workspace.close()

    task = qloop.create_task(seeded())
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    task.result()
    app = WindFlowApp(settings, started=time.monotonic(), secrets=SecretStore(keyring),
                      watch_health=False)
    running = qloop.create_task(app.run())
    try:
        qtbot.waitUntil(lambda: app.session is not None and app.session.signed_in
                        and app.window is not None, timeout=WAIT_MS)
        assert app.window is not None
        yield app.window
    finally:
        app.quit_requested.set()
        qtbot.waitUntil(running.done, timeout=WAIT_MS)


def show(qtbot: QtBot, window: MainWindow, key: str) -> QWidget:
    window.show_page(key)
    page = window.page(key)
    assert page is not None
    qtbot.waitUntil(page.isVisible, timeout=WAIT_MS)
    return page


def visible_rows_fit(qtbot: QtBot, view: QTableView, columns: list[int]) -> None:
    """Every cell of ``columns`` shows its whole text."""
    model = view.model()
    qtbot.waitUntil(lambda: model.rowCount() > 0, timeout=WAIT_MS)

    def all_fit() -> bool:
        return all(fits(view, model.index(r, c), str(model.index(r, c).data() or ""))
                   for r in range(model.rowCount()) for c in columns)

    try:
        qtbot.waitUntil(all_fit, timeout=WAIT_MS)
    except Exception:
        bad = [(r, c, model.index(r, c).data(), view.columnWidth(c),
                view.fontMetrics().horizontalAdvance(str(model.index(r, c).data())))
               for r in range(model.rowCount()) for c in columns
               if not fits(view, model.index(r, c), str(model.index(r, c).data() or ""))]
        raise AssertionError(bad) from None


def test_every_page_has_one_header_and_nothing_is_clipped(qtbot: QtBot,
                                                         window: MainWindow) -> None:
    assert (window.width(), window.height()) == (1180, 740)  # the default size
    lefts = set()
    for spec in PAGES:
        page = show(qtbot, window, spec.key)
        headers = page.findChildren(PageHeader)
        assert len(headers) == 1, (spec.key, headers)
        title = headers[0].title
        assert title.text() == spec.title
        assert title.font().pixelSize() == TITLE_PIXELS and title.font().bold()
        lefts.add(headers[0].mapTo(page, QPoint(0, 0)).x())
        for edit in page.findChildren(QLineEdit):
            if edit.isVisible() and edit.placeholderText().startswith(("Filter", "Search")):
                room = edit.fontMetrics().horizontalAdvance(edit.placeholderText())
                assert edit.width() >= room, (spec.key, edit.placeholderText())
    assert len(lefts) == 1, lefts  # the same margins everywhere
    settings_blurb = next(p.blurb for p in PAGES if p.key == "settings")
    assert "workspace" not in settings_blurb
    assert "workspace" not in show(qtbot, window, "settings").findChild(
        PageHeader).subtitle.text()

    # Targets: every column but the stretched last one shows its text whole
    targets = show(qtbot, window, "targets")
    assert isinstance(targets, TargetsPage)
    columns = targets.model.columnCount()
    visible_rows_fit(qtbot, targets.table, list(range(columns - 1)))
    # capability details: whole, or the whole text is the tooltip
    targets.table.selectRow(0)
    caps = targets.capabilities
    qtbot.waitUntil(lambda: caps.topLevelItemCount() > 0, timeout=WAIT_MS)
    for i in range(caps.topLevelItemCount()):
        item = caps.topLevelItem(i)
        assert item.toolTip(2) == item.text(2)
        assert caps.columnWidth(1) >= caps.fontMetrics().horizontalAdvance(item.text(1))

    # Dashboard: hosts elided in the middle, the row's tooltip names the host
    dashboard = show(qtbot, window, "dashboard")
    assert isinstance(dashboard, DashboardPage)
    assert dashboard.health_table.textElideMode() == Qt.TextElideMode.ElideMiddle
    qtbot.waitUntil(lambda: dashboard.health_model.rowCount() > 0, timeout=WAIT_MS)
    for r in range(dashboard.health_model.rowCount()):
        host = str(dashboard.health_model.index(r, 2).data())
        assert host in str(dashboard.health_model.index(r, 2).data(
            Qt.ItemDataRole.ToolTipRole))
    qtbot.waitUntil(lambda: dashboard.running_card.value.isdigit(), timeout=WAIT_MS)
    running = int(dashboard.running_card.value)
    assert dashboard.running_card.caption_label.text() == (
        "no deployment pending or running" if running == 0
        else f"{plural(running, 'deployment')} pending or running")

    # Activity: "By" and the columns before it
    activity = show(qtbot, window, "activity")
    table = activity.findChild(QTableView, "")  # the page's one table
    assert isinstance(table, QTableView)
    count = table.model().columnCount()
    visible_rows_fit(qtbot, table, [c for c in range(count) if c != 3])  # Details elides

    # Revisions: "Saved" on one line, whole
    stacks = show(qtbot, window, "stacks")
    assert isinstance(stacks, StacksPage)
    stacks.table.selectRow(0)
    qtbot.waitUntil(lambda: stacks.revisions_model.rowCount() > 0, timeout=WAIT_MS)
    stacks.tabs.setCurrentIndex(2)
    assert not stacks.revisions.wordWrap()
    visible_rows_fit(qtbot, stacks.revisions, [0, 1])

    # Settings: "Change role" has room for its text and its arrow
    show(qtbot, window, "settings")
    users = window.findChild(UsersPage)
    assert users is not None
    button = users.role_button
    assert button.width() >= button.sizeHint().width()
    assert button.menu() is not None


def test_the_selected_sidebar_icon_stays_visible(qtbot: QtBot, window: MainWindow) -> None:
    sidebar = window.sidebar
    highlight = sidebar.palette().highlight().color()
    for row in range(sidebar.count()):
        icon = sidebar.item(row).icon()
        image = icon.pixmap(20, 20, QIcon.Mode.Selected).toImage()
        drawn = [image.pixelColor(x, y) for x in range(image.width())
                 for y in range(image.height()) if image.pixelColor(x, y).alpha() > 150]
        assert drawn, row
        contrast = max(abs(c.lightness() - highlight.lightness()) for c in drawn)
        assert contrast > 100, (row, contrast)


def test_one_plural_and_words_helper() -> None:
    assert [plural(n, "service") for n in (0, 1, 2)] == ["0 services", "1 service",
                                                          "2 services"]
    assert plural(1, "variable") + " used" == "1 variable used"
    assert f"{plural(1, 'container')}, 1 running" == "1 container, 1 running"
    assert words(DeploymentStatus.ROLLED_BACK) == "rolled back"
    assert f"Deployment {words(DeploymentStatus.ROLLED_BACK)}" == "Deployment rolled back"


