"""The pieces of the live stats display, without an engine: adjacent changed rows become
one ``dataChanged`` range, a sparkline's points are right-aligned and clipped to the
cell, the chart turns totals into rates (a restart is not a negative rate), and both
paint without error."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter, QStandardItemModel
from PySide6.QtWidgets import QStyleOptionViewItem, QTreeView
from pytestqt.qtbot import QtBot

from windflow_desktop.domain.containers import ContainerStats
from windflow_desktop.ui.views.container_stats import runs
from windflow_desktop.ui.widgets.sparkline import SAMPLES, Series, SparklineDelegate, points
from windflow_desktop.ui.widgets.stats_chart import StatsChart, panels, rates

pytestmark = pytest.mark.gui


def _sample(at: float, cpu: float = 0.0, rx: int = 0, read: int = 0) -> ContainerStats:
    return ContainerStats(cpu, 1000, 4000, rx, 0, read, 0, 2, at)


def test_runs_of_adjacent_rows() -> None:
    assert runs([4, 1, 2, 7, 3]) == [(1, 4), (7, 7)]
    assert runs([]) == []


def test_sparkline_points_right_aligned_and_clipped() -> None:
    rect = QRectF(0, 0, 118, 20)
    line = points([0.0, 50.0, 200.0], 100.0, rect)
    assert [p.x() for p in line] == [114.0, 116.0, 118.0]  # the newest at the right edge
    assert [p.y() for p in line] == [20.0, 10.0, 0.0]  # above the ceiling: at the top
    assert len(points([1.0] * (SAMPLES + 30), 1.0, rect)) == SAMPLES
    assert points([], 1.0, rect) == []


def test_rates_from_totals() -> None:
    samples = [_sample(10.0, rx=0), _sample(12.0, rx=2000), _sample(13.0, rx=500)]
    assert rates(samples, "network_rx_bytes") == [1000.0, 0.0]  # restarted: not negative
    cpu, memory, network, disk = panels(samples)
    assert (cpu.ceiling, cpu.ceiling_text) == (100.0, "100%")
    assert network.text.startswith("in 0 B/s") and disk.unit == "/s"
    assert memory.text == "1000 B of 3.9 KB"


def test_chart_and_delegate_paint(qtbot: QtBot) -> None:
    chart = StatsChart(300)
    qtbot.addWidget(chart)
    chart.resize(900, 140)
    chart.set_samples("web", [_sample(float(i), cpu=i * 10.0, rx=i * 100) for i in range(8)])
    assert chart.shown_span() == 60 and "CPU 70.0%" in chart.accessibleDescription()
    assert not chart.grab().isNull()

    tree = QTreeView()
    qtbot.addWidget(tree)
    model = QStandardItemModel(1, 1)
    tree.setModel(model)
    delegate = SparklineDelegate(lambda _i: Series([1.0, 3.0, 2.0], 4.0, "2.0%"), tree)
    image = QImage(200, 24, QImage.Format.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    option = QStyleOptionViewItem()
    option.rect = image.rect()
    option.palette = tree.palette()
    delegate.paint(painter, option, model.index(0, 0))
    painter.end()
    drawn = {image.pixel(x, y) for x in range(image.width()) for y in range(image.height())}
    assert len(drawn) > 2  # a line and a value were painted
