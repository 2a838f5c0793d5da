"""The window shell: pages, shortcuts, remembered geometry, and the row table model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from windflow_desktop.ui.main_window import PAGES, MainWindow
from windflow_desktop.ui.models.base import Column, RowTableModel


def make_window(qtbot: QtBot, tmp_path: Path) -> MainWindow:
    window = MainWindow(QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    return window


def test_sidebar_lists_every_page_and_ctrl_number_switches(qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path)
    window.show()
    window.activateWindow()
    qtbot.waitActive(window)
    window.sidebar.setFocus()
    titles = [window.sidebar.item(i).text() for i in range(window.sidebar.count())]
    assert titles == [
        "Dashboard", "Targets", "Stacks", "Deployments", "Containers", "Disk", "Activity",
        "Settings"]
    for number, spec in enumerate(PAGES, start=1):
        QTest.keySequence(window.windowHandle(), QKeySequence(f"Ctrl+{number}"))
        assert window.current_page_key() == spec.key


def test_real_page_replaces_placeholder(qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path)
    window.show_page("stacks")
    real = QLabel("real stacks page")
    window.set_page("stacks", real)
    assert window.page("stacks") is real
    assert window.current_page_key() == "stacks"
    assert window.pages.currentWidget() is real


def test_geometry_and_page_are_remembered(qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path)
    window.resize(910, 570)
    window.show_page("activity")
    with qtbot.waitSignal(window.sig_close_requested):
        window.close()
    again = make_window(qtbot, tmp_path)
    assert again.current_page_key() == "activity"
    # Kept by its key: a page added in a later version does not move anyone elsewhere.
    stored = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    assert stored.value("main_window/page_key") == "activity"
    # The offscreen screen is 800 px wide, so only the height survives unclamped.
    assert again.size().height() == 570


def test_close_asks_the_app_instead_of_closing(qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window(qtbot, tmp_path)
    window.show()
    with qtbot.waitSignal(window.sig_close_requested):
        window.close()
    assert window.isVisible()


@dataclass(frozen=True)
class Row:
    id: int
    name: str


def row_model() -> RowTableModel[Row]:
    return RowTableModel(
        [Column("Id", lambda r: r.id), Column("Name", lambda r: r.name)], key=lambda r: r.id
    )


def test_row_model_passes_the_model_tester(qtmodeltester: ModelTester) -> None:
    model = row_model()
    model.reset([Row(i, f"row {i}") for i in range(5)])
    qtmodeltester.check(model, force_py=True)
    model.apply([Row(2, "changed"), Row(9, "new")], removals=[0, 4])
    qtmodeltester.check(model, force_py=True)


def test_row_model_emits_precise_changes(qtbot: QtBot) -> None:
    model = row_model()
    model.reset([Row(i, f"row {i}") for i in range(10)])
    resets, inserts, removes, changes = [], [], [], []
    model.modelReset.connect(lambda: resets.append(1))
    model.rowsInserted.connect(lambda _p, a, b: inserts.append((a, b)))
    model.rowsRemoved.connect(lambda _p, a, b: removes.append((a, b)))
    model.dataChanged.connect(lambda tl, br, _r=(): changes.append((tl.row(), br.row())))

    model.apply(
        [Row(3, "x"), Row(4, "y"), Row(8, "z"), Row(20, "a"), Row(21, "b"), Row(20, "a2")],
        removals=[0, 1],
    )
    assert resets == []
    assert removes == [(0, 1)]
    assert changes == [(1, 2), (6, 6)]  # rows 3,4 moved up by two; row 8 → 6
    assert inserts == [(8, 9)]
    assert [r.name for r in model.rows()][-2:] == ["a2", "b"]
    assert model.position(21) == 9

    model.apply([Row(30, "top")], prepend=True)
    assert inserts[-1] == (0, 0)
    assert model.row(0).name == "top" and model.position(3) == 2
    assert model.data(model.index(0, 1)) == "top"
